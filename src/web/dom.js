// DOM helpers for the console. Every value from the CRM or ERP becomes a text node: nothing here
// (or anywhere in the console) assigns innerHTML / outerHTML or inserts markup from data.

/**
 * h("tag.class#id", { attr: value, onclick: fn }, ...children) → Element.
 * Children: strings and numbers become text nodes; null/undefined/false are skipped; arrays are flattened.
 */
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/i.exec(spec);
  if (!m) throw new Error(`bad element spec ${spec}`);
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][\w-]+/g) ?? []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
/** An SVG element; attribute values are set with setAttribute (never parsed as markup). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = String(v);
    else if (k === "checked" || k === "disabled" || k === "hidden" || k === "selected") el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's content with the given children (as nodes / text). */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A value as text: empty → an em dash, objects as JSON. */
export function fmt(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** A value cell: the text, with a class telling empty values apart. */
export function valueCell(v, tag = "td") {
  return h(`${tag}.value${v === null || v === undefined || v === "" ? ".empty" : ""}`, null, fmt(v));
}

export function table(columns, rows, opts = {}) {
  return h(
    `table${opts.className ? `.${opts.className}` : ""}`,
    opts.testid ? { "data-testid": opts.testid } : null,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((c) => h("th", { scope: "col" }, c.label)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.length === 0
        ? h("tr", null, h("td.muted", { colspan: columns.length }, opts.empty ?? "Nothing here."))
        : rows.map((r) =>
            h(
              "tr",
              opts.rowAttrs ? opts.rowAttrs(r) : null,
              columns.map((c) => (c.cell ? c.cell(r) : valueCell(r[c.key]))),
            ),
          ),
    ),
  );
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 90) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const min = sec / 60;
  if (min < 90) return `${Math.round(min)} min`;
  const hr = min / 60;
  if (hr < 48) return `${hr.toFixed(1)} h`;
  return `${Math.round(hr / 24)} d`;
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function pct(x) {
  return `${(x * 100).toFixed(x > 0 && x < 0.001 ? 2 : 1)} %`;
}
