// The Accord console: a small single-page app over the HTTP API. Routes live in the URL hash
// (#/dashboard, #/reviews/12, #/customers/CUST-0001 …). All data is rendered as text (see dom.js).
import { ApiError, get, post, setCsrf } from "./api.js";
import { duration, fmt, h, pct, replace, s, table, valueCell, when } from "./dom.js";

const state = { user: null, integrations: [], integration: null };
const main = () => document.getElementById("main");

const PAGES = [
  ["dashboard", "Dashboard"],
  ["reviews", "Review queue"],
  ["history", "Record history"],
  ["mapping", "Field mapping"],
  ["customers", "Customer 360"],
  ["revenue", "Revenue"],
  ["changelog", "Change log"],
];

const ROLE_RANK = { viewer: 0, reviewer: 1, admin: 2 };
const can = (role) => state.user && ROLE_RANK[state.user.role] >= ROLE_RANK[role];
const enc = encodeURIComponent;
const base = () => `/api/integrations/${enc(state.integration.name)}`;

function route() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "dashboard", arg: parts[1], params: new URLSearchParams(query) };
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function errorBox(err) {
  const status = err instanceof ApiError ? err.status : 0;
  return h(
    "div.error",
    { role: "alert" },
    h("strong", null, status ? `Error ${status}: ` : "Error: "),
    err.message,
    err.hint ? h("div.hint", null, err.hint) : null,
  );
}

function title(text, ...extra) {
  document.title = `${text} · Accord`;
  return h("div.title", null, h("h1", null, text), ...extra);
}

// ------------------------------------------------------------------ sign-in

function loginPage(message) {
  document.getElementById("top").hidden = true;
  const name = h("input#login-name", { name: "name", autocomplete: "username", required: true, autofocus: true });
  const password = h("input#login-password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const note = h("p.error", { hidden: !message, role: "alert" }, message ?? "");
  const form = h(
    "form.login",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        note.hidden = true;
        try {
          const r = await post("/api/login", { name: name.value, password: password.value });
          setCsrf(r.csrf);
          await start();
        } catch (err) {
          replace(note, err.message, err.hint ? ` — ${err.hint}` : "");
          note.hidden = false;
        }
      },
    },
    h("h1", null, "Sign in to Accord"),
    h("label", null, "User name", name),
    h("label", null, "Password", password),
    note,
    h("button#login-submit", { type: "submit" }, "Sign in"),
    h("p.muted", null, "The first admin is created on the server: accord user add NAME --role admin"),
  );
  replace(main(), form);
  document.title = "Sign in · Accord";
}

async function start() {
  let session;
  try {
    session = await get("/api/session");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return loginPage();
    return replace(main(), errorBox(err));
  }
  state.user = session.user;
  setCsrf(session.csrf);
  state.integrations = (await get("/api/integrations")).integrations;
  const saved = localStorage.getItem("accord.integration");
  state.integration = state.integrations.find((i) => i.name === saved) ?? state.integrations[0];
  const sel = document.getElementById("integration");
  replace(
    sel,
    state.integrations.map((i) => h("option", { value: i.name, selected: i === state.integration }, i.name)),
  );
  sel.onchange = () => {
    state.integration = state.integrations.find((i) => i.name === sel.value);
    localStorage.setItem("accord.integration", sel.value);
    render();
  };
  replace(
    document.getElementById("whoami"),
    h("span", null, state.user.name),
    " ",
    h("span.badge", null, state.user.role),
    ...(state.user.tenant ? [" ", h("span.badge", { title: "tenant: you see this tenant's integrations only" }, state.user.tenant)] : []),
  );
  document.getElementById("logout").onclick = async () => {
    try {
      await post("/api/logout");
    } finally {
      state.user = null;
      setCsrf(null);
      loginPage("Signed out.");
    }
  };
  document.getElementById("top").hidden = false;
  render();
}

function renderNav(page) {
  replace(
    document.getElementById("nav"),
    PAGES.map(([key, label]) =>
      h(`a${key === page ? ".active" : ""}`, { href: `#/${key}`, "aria-current": key === page ? "page" : null, "data-page": key }, label),
    ),
  );
}

let renderSeq = 0;
async function render() {
  if (!state.user) return;
  const r = route();
  renderNav(r.page);
  const seq = ++renderSeq;
  const el = main();
  if (!state.integration)
    return replace(
      el,
      h(
        "p.muted",
        null,
        state.user.tenant
          ? `No integration of tenant ${state.user.tenant} is registered yet.`
          : "No integration is visible to this user (a platform user sees all of them only with the admin role).",
      ),
    );
  replace(el, h("p.muted", null, "Loading…"));
  try {
    const view = await (VIEWS[r.page] ?? VIEWS.dashboard)(r);
    if (seq === renderSeq) replace(el, view);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return loginPage("Your session ended; sign in again.");
    if (seq === renderSeq) replace(el, errorBox(err));
  }
}

// ------------------------------------------------------------------ dashboard

function chart(series) {
  const W = 320;
  const H = 90;
  const pad = 4;
  if (!series.length) return h("p.muted", null, "No runs yet.");
  const max = Math.max(1, ...series.map((p) => p.read));
  // at most 24 units a bar; the newest run at the right edge
  const bw = Math.min(24, (W - pad * 2) / series.length);
  const left = W - pad - bw * series.length;
  const y = (v) => H - pad - ((H - pad * 2) * v) / max;
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart",
    role: "img",
    "aria-label": `Records per run, last ${series.length} runs`,
  });
  svg.append(s("line", { x1: pad, x2: W - pad, y1: H - pad, y2: H - pad, class: "axis" }));
  series.forEach((p, i) => {
    const x = left + i * bw + 1;
    const w = Math.max(1, bw - 2);
    let top = H - pad;
    for (const [k, cls] of [
      ["applied", "applied"],
      ["held", "held"],
      ["quarantined", "quarantined"],
    ]) {
      const v = p[k];
      if (!v) continue;
      const hgt = H - pad - y(v);
      top -= hgt;
      svg.append(
        s("rect", { x, y: top, width: w, height: Math.max(0.5, hgt), class: cls }, s("title", null, `run #${p.runId}: ${v} ${k}`)),
      );
    }
    const unchanged = p.read - p.applied - p.held - p.quarantined;
    if (unchanged > 0) {
      const hgt = H - pad - y(unchanged);
      svg.append(
        s(
          "rect",
          { x, y: top - hgt, width: w, height: Math.max(0.5, hgt), class: "unchanged" },
          s("title", null, `run #${p.runId}: ${unchanged} unchanged`),
        ),
      );
    }
    if (p.status === "failed")
      svg.append(s("circle", { cx: x + w / 2, cy: pad + 3, r: 3, class: "failed" }, s("title", null, `run #${p.runId} failed`)));
  });
  return h(
    "figure.chart",
    null,
    svg,
    h(
      "figcaption",
      null,
      `Records per run (last ${series.length}); max ${max} read. `,
      h("span.key.applied", null, "applied"),
      " ",
      h("span.key.unchanged", null, "unchanged"),
      " ",
      h("span.key.held", null, "held"),
      " ",
      h("span.key.quarantined", null, "quarantined"),
    ),
  );
}

function counts(c) {
  return h(
    "dl.counts",
    null,
    ["read", "applied", "unchanged", "held", "quarantined"].map((k) =>
      h("div", { "data-count": k }, h("dt", null, k), h("dd", null, String(c[k]))),
    ),
  );
}

function alertsTable(alerts, emptyText) {
  return table(
    [
      { label: "Severity", cell: (a) => h(`td.sev-${a.severity}`, null, a.severity) },
      { label: "Rule", key: "rule" },
      { label: "Object", cell: (a) => valueCell(a.object || "(integration)") },
      { label: "Message", key: "message" },
      { label: "Status", key: "status" },
      { label: "Seen", cell: (a) => h("td", null, `${a.occurrences}× · last ${when(a.lastAt)}`) },
      {
        label: "",
        cell: (a) =>
          h(
            "td",
            null,
            a.status === "open" && can("reviewer")
              ? h("button", { type: "button", onclick: async () => (await post(`/api/alerts/${a.id}/ack`), render()) }, "Acknowledge")
              : a.ackedBy
                ? `by ${a.ackedBy}`
                : "",
          ),
      },
    ],
    alerts,
    { empty: emptyText, testid: "alerts" },
  );
}

/** "Check drift now": both systems described live and compared with the file and the accepted snapshots. */
function driftCheck() {
  const out = h("div#drift-result");
  const btn = h(
    "button.secondary#drift-check",
    {
      type: "button",
      onclick: async () => {
        btn.disabled = true;
        replace(out, h("p.muted", null, "Describing both systems…"));
        try {
          const r = await get(`${base()}/drift`);
          replace(
            out,
            h(
              "p",
              null,
              `Checked ${when(r.checkedAt)}: ${r.findings.length ? `${r.findings.length} finding(s)` : "no drift"}${r.baseline.crm && r.baseline.erp ? "" : " (no accepted snapshot yet: only the file was compared)"}.`,
            ),
            r.findings.length
              ? table(
                  [
                    { label: "Kind", key: "kind" },
                    { label: "System", key: "side" },
                    { label: "Entity", key: "entity" },
                    { label: "Field", key: "field" },
                    { label: "Object", key: "object" },
                    { label: "Would", key: "action" },
                    { label: "What", key: "message" },
                  ],
                  r.findings,
                  { className: "compact", testid: "drift-findings" },
                )
              : null,
          );
        } catch (err) {
          replace(out, errorBox(err));
        } finally {
          btn.disabled = false;
        }
      },
    },
    "Check drift now",
  );
  return h("div", null, btn, out);
}

function runsTable(objects) {
  const runs = objects
    .flatMap((o) => o.series.map((r) => ({ ...r, object: o.object })))
    .sort((a, b) => b.runId - a.runId)
    .slice(0, 15);
  return table(
    [
      { label: "Run", cell: (r) => h("td", null, `#${r.runId}`) },
      { label: "Object", key: "object" },
      { label: "Started", cell: (r) => h("td", null, when(r.at)) },
      { label: "Status", cell: (r) => h(`td.status-${r.status}`, null, r.status) },
      { label: "Read", key: "read" },
      { label: "Applied", key: "applied" },
      { label: "Held", key: "held" },
      { label: "Quarantined", key: "quarantined" },
      { label: "Took", cell: (r) => h("td", null, duration(r.durationMs)) },
    ],
    runs,
    { empty: "No runs yet.", className: "compact", testid: "runs" },
  );
}

async function dashboardView() {
  const d = await get(`${base()}/dashboard`);
  const syncBtn =
    state.integration.live && can("reviewer")
      ? h(
          "button#sync-now",
          {
            type: "button",
            onclick: async (e) => {
              e.target.disabled = true;
              e.target.textContent = "Syncing…";
              try {
                await post(`${base()}/sync`, {});
              } finally {
                render();
              }
            },
          },
          "Sync now",
        )
      : null;
  const cards = d.objects.map((o) =>
    h(
      "section.card",
      { "data-object": o.object },
      h("h2", null, o.object, " ", h("span.muted", null, `${o.crmEntity} ↔ ${o.erpEntity} · ${o.schedule}`)),
      o.lastRun
        ? h(
            "p",
            { "data-testid": "last-run" },
            "Last run ",
            h("strong", null, `#${o.lastRun.id}`),
            ` · ${o.lastRun.status} · ${when(o.lastRun.startedAt)}`,
            o.lastRun.error ? h("span.error-text", null, ` · ${o.lastRun.error}`) : null,
          )
        : h("p.muted", null, "Never run."),
      o.lastRun ? counts(o.lastRun.counts) : null,
      h(
        "dl.facts",
        null,
        h(
          "div",
          { "data-fact": "error-rate" },
          h("dt", null, "Error rate"),
          h("dd", null, pct(o.errorRate), h("span.muted", null, ` over ${o.errorRateRuns} runs`)),
        ),
        h(
          "div",
          { "data-fact": "freshness" },
          h("dt", null, "Freshness"),
          h("dd", null, o.freshnessMs === null ? "never synced" : `${duration(o.freshnessMs)} ago`),
        ),
        h("div", { "data-fact": "lag" }, h("dt", null, "Lag (last run)"), h("dd", null, duration(o.lagMs))),
        h("div", { "data-fact": "links" }, h("dt", null, "Linked records"), h("dd", null, String(o.links))),
        h(
          "div",
          { "data-fact": "reviews" },
          h("dt", null, "Open reviews"),
          h("dd", null, h("a", { href: `#/reviews?object=${enc(o.object)}` }, String(o.openReviews))),
        ),
        h("div", { "data-fact": "quarantine" }, h("dt", null, "Quarantined"), h("dd", null, String(o.openQuarantine))),
      ),
      chart(o.series),
    ),
  );
  return h(
    "div",
    null,
    title(`Dashboard — ${d.integration}`, syncBtn),
    h("p.muted", null, `As of ${when(d.at)}.`),
    h("div.cards", null, cards),
    h("h2", null, "Recent runs"),
    runsTable(d.objects),
    h("h2", null, "Open alerts"),
    d.alerts === null ? h("p.muted", null, "This store keeps no alerts.") : alertsTable(d.alerts, "No open alerts."),
    h("h2", null, "Schema drift"),
    state.integration.live ? driftCheck() : null,
    d.drift === null
      ? h("p.muted", null, "This store keeps no drift findings.")
      : alertsTable(d.drift, "No drift: every mapped field is where the file says."),
    h(
      "p.muted",
      null,
      d.schemaSnapshots.length
        ? `Accepted schema snapshots: ${d.schemaSnapshots.map((x) => `${x.side} ${when(x.acceptedAt)}`).join(", ")}.`
        : "No schema snapshot accepted yet (accord drift accept).",
    ),
  );
}

// ------------------------------------------------------------------ review queue

async function reviewsView(r) {
  if (r.arg) return reviewDetail(Number(r.arg));
  const status = r.params.get("status") ?? "open";
  const object = r.params.get("object") ?? "";
  const q = new URLSearchParams({ status });
  if (object) q.set("object", object);
  const { items } = await get(`${base()}/reviews?${q}`);
  const statusSel = h(
    "select#review-status",
    { onchange: (e) => go(`#/reviews?${new URLSearchParams({ status: e.target.value, ...(object ? { object } : {}) })}`) },
    ["open", "resolved", "dismissed", "all"].map((x) => h("option", { value: x, selected: x === status }, x)),
  );
  return h(
    "div",
    null,
    title("Review queue"),
    h(
      "p.muted",
      null,
      "Fields and matches held for a person. A decision is applied by the next sync of the object; the record's other fields keep syncing.",
    ),
    h("label.inline", null, "Status ", statusSel),
    object ? h("span.muted", null, ` · object ${object} `, h("a", { href: `#/reviews?status=${enc(status)}` }, "(all objects)")) : null,
    table(
      [
        { label: "#", cell: (i) => h("td", null, h("a", { href: `#/reviews/${i.id}`, "data-review": String(i.id) }, `#${i.id}`)) },
        { label: "Object", key: "object" },
        { label: "Kind", key: "kind" },
        { label: "Field", key: "field" },
        { label: "Base", key: "base" },
        { label: "CRM", key: "crm" },
        { label: "ERP", key: "erp" },
        { label: "Why", key: "reason" },
        { label: "Status", cell: (i) => h("td", null, i.status, i.resolvedBy ? ` by ${i.resolvedBy}` : "") },
      ],
      items,
      { empty: "Nothing waits for a person.", testid: "review-list" },
    ),
  );
}

async function reviewDetail(id) {
  const v = await get(`/api/reviews/${id}`);
  const i = v.item;
  const isMatch = i.kind === "match";
  // a match item with one side empty is a suspected duplicate inside one system
  const isDup = isMatch && (i.crm === null || i.erp === null);
  const out = h("div.result", { role: "status", "aria-live": "polite" });
  const decide = async (body, label) => {
    try {
      const r = await post(`/api/reviews/${id}/resolve`, body);
      replace(
        out,
        `Resolved (${label}) by ${r.item.resolvedBy}. ${isDup ? "accord merge acts on it" : `The next ${isMatch ? "link --apply" : "sync"} applies it`}.`,
      );
      setTimeout(render, 600);
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  // a base snapshot holds each side's last synced value: { crm, erp }
  const b = i.base;
  const baseText =
    b && typeof b === "object" && !Array.isArray(b) && ("crm" in b || "erp" in b)
      ? fmt(b.crm) === fmt(b.erp)
        ? fmt(b.crm)
        : `CRM: ${fmt(b.crm)} · ERP: ${fmt(b.erp)}`
      : fmt(b);
  // a match item holds record ids; the detail names them
  const names = isMatch && i.detail && typeof i.detail === "object" ? { crm: i.detail.crmName, erp: i.detail.erpName } : {};
  const sideText = (key, val) => (names[key] ? `${fmt(names[key])} (${fmt(val)})` : fmt(val));
  const sides = h(
    "div.sides",
    { "data-testid": "review-sides" },
    [
      ["Base (last synced)", baseText, "base"],
      ["CRM", i.crm, "crm"],
      ["ERP", i.erp, "erp"],
    ].map(([label, val, key]) =>
      h("section.side", { "data-side": key }, h("h3", null, label), h("div.value", null, key === "base" ? val : sideText(key, val))),
    ),
  );
  const actions = [];
  if (i.status === "open" && can("reviewer")) {
    if (v.choices.includes("pick")) {
      actions.push(h("button#pick-crm", { type: "button", onclick: () => decide({ pick: "crm" }, "CRM value") }, "Keep the CRM value"));
      actions.push(h("button#pick-erp", { type: "button", onclick: () => decide({ pick: "erp" }, "ERP value") }, "Keep the ERP value"));
    }
    if (v.choices.includes("value")) {
      const input = h("input#edit-value", {
        value: typeof i.crm === "string" ? i.crm : JSON.stringify(i.crm ?? ""),
        "aria-label": "New value",
      });
      const side = h(
        "select#edit-side",
        null,
        h("option", { value: "crm" }, "as the CRM holds it"),
        h("option", { value: "erp" }, "as the ERP holds it"),
      );
      actions.push(
        h(
          "form.edit",
          {
            onsubmit: (e) => {
              e.preventDefault();
              let value = input.value;
              if (typeof i.crm !== "string" && typeof i.erp !== "string") {
                try {
                  value = JSON.parse(input.value);
                } catch {
                  /* plain text */
                }
              }
              decide({ value, side: side.value }, "edited value");
            },
          },
          h("label", null, "Or set the value ", input),
          side,
          h("button#apply-value", { type: "submit" }, "Apply this value"),
        ),
      );
    }
    if (v.choices.includes("accept"))
      actions.push(
        h(
          "button#accept",
          { type: "button", onclick: () => decide({ accept: true }, isMatch ? "same record" : "accepted") },
          isDup ? "Same company: duplicates" : isMatch ? "Same customer: link them" : "Accept as it is",
        ),
      );
    if (v.choices.includes("reject"))
      actions.push(
        h(
          "button#reject",
          { type: "button", onclick: () => decide({ reject: true }, "different records") },
          isDup ? "Not duplicates" : "Different customers",
        ),
      );
    actions.push(
      h(
        "button.secondary#dismiss",
        {
          type: "button",
          onclick: async () => {
            try {
              await post(`/api/reviews/${id}/dismiss`);
              render();
            } catch (err) {
              replace(out, errorBox(err));
            }
          },
        },
        "Dismiss",
      ),
    );
  } else if (i.status === "open") actions.push(h("p.muted", null, `You are a ${state.user.role}: only reviewers and admins decide.`));
  const rule = v.rule;
  return h(
    "div",
    null,
    h("p", null, h("a", { href: "#/reviews" }, "← Review queue")),
    title(`Review #${i.id}: ${i.kind}`),
    h(
      "dl.facts",
      null,
      h("div", null, h("dt", null, "Object"), h("dd", null, i.object)),
      h("div", null, h("dt", null, "Field"), h("dd", null, fmt(i.field))),
      h(
        "div",
        null,
        h("dt", null, "Status"),
        h("dd#review-status-text", null, i.status, i.resolvedBy ? ` by ${i.resolvedBy} at ${when(i.resolvedAt)}` : ""),
      ),
      h("div", null, h("dt", null, "Held since"), h("dd", null, when(i.createdAt))),
      v.link
        ? h(
            "div",
            null,
            h("dt", null, "Records"),
            h(
              "dd",
              null,
              h(
                "a",
                { href: `#/customers/${enc(v.link.crmId ?? v.link.erpId ?? "")}?object=${enc(i.object)}` },
                `CRM ${fmt(v.link.crmId)} ↔ ERP ${fmt(v.link.erpId)}`,
              ),
            ),
          )
        : null,
    ),
    h("h2", null, "Why"),
    h("p.reason", null, i.reason),
    rule
      ? h(
          "p.muted",
          null,
          `Rule for ${rule.crm} ↔ ${rule.erp}: direction ${rule.direction}${rule.master ? `, master ${rule.master}` : ""}, conflicts by ${rule.conflict}, edits of a mastered field: ${rule.onMasterEdit}.`,
        )
      : null,
    sides,
    detailView(i.detail),
    i.resolution !== null ? h("p", null, "Decision: ", h("code", null, JSON.stringify(i.resolution))) : null,
    h("div.actions", null, actions),
    out,
  );
}

/** A review item's detail: a match's score, explanation and per-field contributions; the rest as JSON. */
function detailView(detail) {
  if (detail === null || detail === undefined) return null;
  const parts = [];
  if (typeof detail === "object" && !Array.isArray(detail)) {
    if (detail.score !== undefined && detail.score !== null)
      parts.push(
        h(
          "p",
          null,
          `Match score ${typeof detail.score === "number" ? detail.score.toFixed(3) : fmt(detail.score)}${detail.step ? ` (step: ${fmt(detail.step)})` : ""}`,
        ),
      );
    if (detail.explanation) parts.push(h("p", null, fmt(detail.explanation)));
    if (Array.isArray(detail.duplicateOf) && detail.duplicateOf.length)
      parts.push(h("p", null, `Suspected duplicate of: ${detail.duplicateOf.map(fmt).join(", ")}`));
    const c = detail.contributions;
    if (Array.isArray(c) && c.length && c.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
      const keys = [...new Set(c.flatMap((x) => Object.keys(x)))];
      parts.push(
        h("h3", null, "Why: each field's part in the score"),
        table(
          keys.map((k) => ({ label: k, key: k })),
          c,
          { className: "compact", testid: "contributions" },
        ),
      );
    }
  }
  parts.push(h("details", null, h("summary", null, "All detail"), h("pre", null, JSON.stringify(detail, null, 2))));
  return h("section.detail", null, h("h2", null, "Detail"), parts);
}

// ------------------------------------------------------------------ history

async function historyView(r) {
  const objects = state.integration.objects;
  const object = r.params.get("object") ?? state.integration.customerObject;
  const id = r.params.get("id") ?? "";
  const objSel = h(
    "select#history-object",
    { name: "object" },
    objects.map((o) => h("option", { value: o.name, selected: o.name === object }, o.name)),
  );
  const idIn = h("input#history-id", { name: "id", value: id, placeholder: "CRM id, ERP id or shared id", required: true });
  const form = h(
    "form.inline",
    { onsubmit: (e) => (e.preventDefault(), go(`#/history?${new URLSearchParams({ object: objSel.value, id: idIn.value.trim() })}`)) },
    h("label", null, "Object ", objSel),
    h("label", null, "Record ", idIn),
    h("button", { type: "submit" }, "Show history"),
  );
  const parts = [title("Record history"), h("p.muted", null, "Who changed what, from where, under which rule — as Accord wrote it."), form];
  if (id) {
    const d = await get(`${base()}/history/${enc(object)}/${enc(id)}`);
    parts.push(
      d.link
        ? h(
            "p",
            null,
            `${object} link #${d.link.id}: CRM ${fmt(d.link.crmId)} ↔ ERP ${fmt(d.link.erpId)} (shared id ${fmt(d.link.sharedId)}, ${d.link.status}${d.link.pinned ? ", pinned" : ""}) `,
            h("a", { href: `#/customers/${enc(id)}?object=${enc(object)}` }, "360 view"),
          )
        : h("p.muted", null, `${object} ${id} is not linked.`),
      historyTable(d.entries),
    );
  }
  return h("div", null, parts);
}

function historyTable(entries) {
  return table(
    [
      { label: "When", cell: (e) => h("td", null, when(e.at)) },
      { label: "Run", key: "runId" },
      { label: "Written to", cell: (e) => h("td", null, `${e.target} ${e.recordId}`) },
      { label: "Field", key: "field" },
      { label: "Before", key: "before" },
      { label: "After", key: "after" },
      { label: "From", key: "source" },
      { label: "Rule", key: "rule" },
    ],
    entries,
    { empty: "No changes recorded.", testid: "history" },
  );
}

// ------------------------------------------------------------------ mapping document

async function mappingView() {
  const d = await get(`${base()}/mapping`);
  const byObject = new Map();
  for (const row of d.rows) {
    if (!byObject.has(row.object)) byObject.set(row.object, []);
    byObject.get(row.object).push(row);
  }
  const cols = [
    ["crmField", "CRM field"],
    ["crmType", "CRM type"],
    ["erpField", "ERP field"],
    ["erpType", "ERP type"],
    ["direction", "Direction"],
    ["master", "Master"],
    ["toErp", "To ERP"],
    ["toCrm", "To CRM"],
    ["conflictRule", "Conflicts"],
    ["required", "Required"],
    ["schedule", "Schedule"],
    ["note", "Note"],
  ].map(([key, label]) => ({ key, label }));
  return h(
    "div",
    null,
    title(
      `Field mapping — ${d.integration}`,
      h("a.button", { href: `${base()}/mapping?format=csv`, download: "" }, "CSV"),
      " ",
      h("a.button", { href: `${base()}/mapping?format=md` }, "Markdown"),
    ),
    h("p.muted", null, `Owner: ${d.owner.name} <${d.owner.email}>`),
    [...byObject.entries()].map(([object, rows]) =>
      h(
        "section",
        null,
        h("h2", null, object, " ", h("span.muted", null, `${rows[0].crmEntity} ↔ ${rows[0].erpEntity}`)),
        table(cols, rows, { className: "compact", testid: `mapping-${object}` }),
      ),
    ),
  );
}

// ------------------------------------------------------------------ customer 360

async function customersView(r) {
  if (r.arg) return customerDetail(r.arg, r.params.get("object"));
  const q = r.params.get("q") ?? "";
  const input = h("input#customer-q", { name: "q", value: q, placeholder: "name, CRM id, ERP id…", type: "search" });
  const { object, items } = await get(`${base()}/customers?${new URLSearchParams({ q, limit: "50" })}`);
  return h(
    "div",
    null,
    title("Customer 360"),
    h(
      "form.inline",
      { onsubmit: (e) => (e.preventDefault(), go(`#/customers?q=${enc(input.value.trim())}`)) },
      h("label", null, "Find ", input),
      h("button#customer-search", { type: "submit" }, "Search"),
    ),
    table(
      [
        {
          label: "Customer",
          cell: (c) =>
            h("td", null, h("a.customer", { href: `#/customers/${enc(c.crmId ?? c.erpId ?? c.sharedId)}?object=${enc(object)}` }, c.label)),
        },
        { label: "CRM id", key: "crmId" },
        { label: "ERP id", key: "erpId" },
        { label: "Shared id", key: "sharedId" },
        { label: "Status", cell: (c) => h("td", null, c.status, c.pinned ? " · pinned" : "") },
      ],
      items,
      { empty: q ? `No linked ${object} matches “${q}”.` : "No linked customers yet.", testid: "customer-list" },
    ),
  );
}

async function customerDetail(id, object) {
  const qs = object ? `?object=${enc(object)}` : "";
  const c = await get(`${base()}/customers/${enc(id)}${qs}`);
  const l = c.link;
  const live = (side) => (c[side] ? `read live, modified ${when(c[side].modifiedAt)}` : c.live[side]);
  return h(
    "div",
    null,
    h("p", null, h("a", { href: "#/customers" }, "← Customers")),
    title(c.label),
    h(
      "dl.facts",
      { "data-testid": "customer-facts" },
      h("div", null, h("dt", null, "CRM record"), h("dd", null, fmt(l.crmId), h("div.muted", null, live("crm")))),
      h("div", null, h("dt", null, "ERP record"), h("dd", null, fmt(l.erpId), h("div.muted", null, live("erp")))),
      h("div", null, h("dt", null, "Shared id"), h("dd", null, fmt(l.sharedId))),
      h(
        "div",
        null,
        h("dt", null, "Link"),
        h("dd", null, `#${l.id} · ${l.status}${l.pinned ? " · pinned" : ""} · since ${when(l.createdAt)}`),
      ),
    ),
    h("h2", null, "Synced fields"),
    table(
      [
        { label: "CRM field", key: "crm" },
        { label: "ERP field", key: "erp" },
        { label: "Direction", cell: (f) => h("td", null, f.direction, f.master ? ` (master ${f.master})` : "") },
        { label: "Last synced (CRM)", cell: (f) => valueCell(f.base?.crm) },
        { label: "Last synced (ERP)", cell: (f) => valueCell(f.base?.erp) },
        { label: "CRM now", cell: (f) => ("crmValue" in f ? valueCell(f.crmValue) : h("td.muted", null, "—")) },
        { label: "ERP now", cell: (f) => ("erpValue" in f ? valueCell(f.erpValue) : h("td.muted", null, "—")) },
      ],
      c.fields,
      { testid: "customer-fields" },
    ),
    c.children.map((ch) =>
      h(
        "section",
        null,
        h("h2", null, `${ch.object} (${ch.items.length})`),
        table(
          [
            {
              label: "Name",
              cell: (x) =>
                h(
                  "td",
                  null,
                  h(
                    "a",
                    { href: `#/history?${new URLSearchParams({ object: ch.object, id: x.link.crmId ?? x.link.erpId ?? "" })}` },
                    x.label,
                  ),
                ),
            },
            { label: "CRM id", cell: (x) => valueCell(x.link.crmId) },
            { label: "ERP id", cell: (x) => valueCell(x.link.erpId) },
            { label: "Status", cell: (x) => valueCell(x.link.status) },
          ],
          ch.items,
          { empty: `No linked ${ch.object}.`, testid: `children-${ch.object}` },
        ),
      ),
    ),
    c.related.map((r) =>
      h(
        "section",
        { "data-related": r.object },
        h("h2", null, `${r.object} `, h("span.muted", null, `(${r.erpEntity}, link #${r.link.id})`)),
        table(
          [
            { label: "CRM field", key: "crm" },
            { label: "ERP field", key: "erp" },
            { label: "Direction", key: "direction" },
            { label: "Last synced (CRM)", cell: (f) => valueCell(f.base?.crm) },
            { label: "Last synced (ERP)", cell: (f) => valueCell(f.base?.erp) },
          ],
          r.fields,
          { className: "compact" },
        ),
      ),
    ),
    customerCases(c),
    customerPayments(c),
    h("h2", null, `Pending reviews (${c.reviews.length})`),
    table(
      [
        { label: "#", cell: (i) => h("td", null, h("a", { href: `#/reviews/${i.id}` }, `#${i.id}`)) },
        { label: "Kind", key: "kind" },
        { label: "Field", key: "field" },
        { label: "CRM", key: "crm" },
        { label: "ERP", key: "erp" },
        { label: "Why", key: "reason" },
      ],
      c.reviews,
      { empty: "Nothing held for this customer." },
    ),
    c.quarantine.length
      ? [
          h("h2", null, `Quarantined (${c.quarantine.length})`),
          table(
            [
              { label: "Side", key: "side" },
              { label: "Record", key: "recordId" },
              { label: "Class", key: "errorClass" },
              { label: "Reason", key: "reason" },
              { label: "Attempts", key: "attempts" },
            ],
            c.quarantine,
          ),
        ]
      : null,
    h("h2", null, "History"),
    historyTable(c.history),
  );
}

/** Service cases (CRM), read live through the customer's link: open first. */
function customerCases(c) {
  const k = c.cases;
  return h(
    "section",
    { "data-section": "cases" },
    h("h2", null, k ? `Service cases (${k.open} open, ${k.closed} closed)` : "Service cases"),
    k
      ? table(
          [
            { label: "#", key: "number" },
            { label: "Subject", key: "subject" },
            { label: "State", cell: (x) => h(`td.${x.open ? "open" : "closed"}`, null, x.open ? "open" : "closed") },
            { label: "Status", key: "status" },
            { label: "Priority", key: "priority" },
            { label: "Type", key: "type" },
            { label: "Created", cell: (x) => h("td", null, when(x.created)) },
          ],
          k.items,
          { empty: "No service cases.", testid: "customer-cases", rowAttrs: (x) => ({ "data-case": x.id }) },
        )
      : h("p.muted", null, c.activityNotes?.cases ?? "Not available."),
  );
}

/** Payments received (ERP), read live through the customer's link: newest first, with the invoices each settles. */
function customerPayments(c) {
  const p = c.payments;
  return h(
    "section",
    { "data-section": "payments" },
    h("h2", null, p ? `Payment history (${p.items.length}, total ${money(p.total)})` : "Payment history"),
    p
      ? table(
          [
            { label: "Date", key: "date" },
            { label: "Amount", cell: (x) => h("td.num", null, money(x.amount)) },
            { label: "Mode", key: "mode" },
            { label: "Reference", key: "reference" },
            { label: "Settles", cell: (x) => valueCell(x.invoices.join(", ")) },
            { label: "Payment", key: "id" },
          ],
          p.items,
          { empty: "No payments received.", testid: "customer-payments", rowAttrs: (x) => ({ "data-payment": x.id }) },
        )
      : h("p.muted", null, c.activityNotes?.payments ?? "Not available."),
  );
}

// ------------------------------------------------------------------ revenue

const SERIES = [
  ["bookings", "Bookings"],
  ["ordered", "Ordered"],
  ["invoiced", "Invoiced"],
  ["paid", "Paid"],
];
const money = (n) => (typeof n === "number" ? n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : fmt(n));
const isoDay = (d) => d.toISOString().slice(0, 10);

/** Grouped bars (bookings, ordered, invoiced, paid) per period, plus a line over bookings. */
function revenueChart(periods) {
  const W = 760;
  const H = 240;
  const padL = 56;
  const padB = 28;
  const padT = 10;
  const padR = 8;
  const max = Math.max(1, ...periods.flatMap((p) => SERIES.map(([k]) => p[k])));
  const gw = (W - padL - padR) / Math.max(1, periods.length);
  const bw = Math.max(1, Math.min(18, (gw - 4) / SERIES.length));
  const y = (v) => H - padB - ((H - padB - padT) * v) / max;
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart revenue",
    role: "img",
    "aria-label": `Bookings, ordered, invoiced and paid per period (${periods.length} periods)`,
    "data-testid": "revenue-chart",
  });
  // horizontal grid: 0, ½ and the max
  for (const v of [0, max / 2, max]) {
    svg.append(s("line", { x1: padL, x2: W - padR, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }));
    svg.append(s("text", { x: padL - 4, y: y(v) + 4, "text-anchor": "end", class: "tick" }, money(v)));
  }
  const every = Math.max(1, Math.ceil(periods.length / 12)); // at most ~12 period labels
  periods.forEach((p, i) => {
    const x0 = padL + i * gw + (gw - bw * SERIES.length) / 2;
    SERIES.forEach(([k, label], j) => {
      const v = p[k];
      const hgt = Math.max(v > 0 ? 0.5 : 0, H - padB - y(v));
      svg.append(
        s(
          "rect",
          { x: x0 + j * bw, y: H - padB - hgt, width: Math.max(0.5, bw - 1), height: hgt, class: k },
          s("title", null, `${p.period} ${label}: ${money(v)}`),
        ),
      );
    });
    if (i % every === 0)
      svg.append(s("text", { x: padL + i * gw + gw / 2, y: H - padB + 16, "text-anchor": "middle", class: "tick" }, p.period));
  });
  if (periods.length > 1)
    svg.append(
      s("polyline", {
        points: periods.map((p, i) => `${padL + i * gw + gw / 2},${y(p.bookings)}`).join(" "),
        class: "bookings-line",
      }),
    );
  return h(
    "figure.chart",
    null,
    svg,
    h(
      "figcaption",
      null,
      `Per period; the line follows bookings; scale 0 – ${money(max)}. `,
      SERIES.map(([k, label]) => [h(`span.key.${k}`, null, label), " "]),
    ),
  );
}

async function revenueView(r) {
  const year = new Date().getFullYear();
  const from = r.params.get("from") || `${year}-01-01`;
  const to = r.params.get("to") || isoDay(new Date());
  const by = r.params.get("by") || "month";
  const fromIn = h("input#revenue-from", { type: "date", name: "from", value: from, required: true });
  const toIn = h("input#revenue-to", { type: "date", name: "to", value: to, required: true });
  const bySel = h(
    "select#revenue-by",
    { name: "by" },
    ["month", "quarter", "day"].map((b) => h("option", { value: b, selected: b === by }, b)),
  );
  const form = h(
    "form.inline",
    {
      onsubmit: (e) => (
        e.preventDefault(), go(`#/revenue?${new URLSearchParams({ from: fromIn.value, to: toIn.value, by: bySel.value })}`)
      ),
    },
    h("label", null, "From ", fromIn),
    h("label", null, "To ", toIn),
    h("label", null, "By ", bySel),
    h("button", { type: "submit" }, "Show report"),
  );
  const parts = [
    title("Revenue"),
    h("p.muted", null, "Bookings vs. revenue, read live from both systems as the integration file's reports.revenue names them."),
    form,
  ];
  const rep = await get(`${base()}/revenue?${new URLSearchParams({ from, to, by })}`);
  const amountCell = (k) => (row) => h("td.num", null, money(row[k]));
  const countCell = (k) => (row) => h("td.num", null, fmt(row[k]));
  const cols = [
    { label: "Period", key: "period" },
    { label: "Bookings", cell: amountCell("bookings") },
    { label: "Deals", cell: countCell("bookedDeals") },
    { label: "Ordered", cell: amountCell("ordered") },
    { label: "Orders", cell: countCell("orders") },
    { label: "Invoiced", cell: amountCell("invoiced") },
    { label: "Invoices", cell: countCell("invoices") },
    { label: "Paid", cell: amountCell("paid") },
    { label: "Payments", cell: countCell("payments") },
  ];
  const t = table(cols, rep.periods, { testid: "revenue-periods", className: "revenue", empty: "No periods in this range." });
  t.append(
    h(
      "tfoot",
      null,
      h(
        "tr",
        { "data-testid": "revenue-totals" },
        h("th", { scope: "row" }, "Total"),
        cols.slice(1).map((c) => c.cell(rep.totals)),
      ),
    ),
  );
  const counts = Object.entries(rep.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(" · ");
  parts.push(
    revenueChart(rep.periods),
    t,
    h(
      "details.basis",
      null,
      h("summary", null, "How each figure is counted"),
      h(
        "dl",
        null,
        SERIES.map(([k, label]) => [h("dt", null, label), h("dd", null, rep.basis[k])]),
      ),
    ),
    h("h2", null, `Exceptions (${rep.exceptions.length})`),
    counts ? h("p.muted", null, counts) : null,
    table(
      [
        { label: "Kind", key: "kind" },
        { label: "Record", key: "record" },
        { label: "Date", key: "date" },
        { label: "Amount", cell: amountCell("amount") },
        { label: "Expected", cell: amountCell("expected") },
        { label: "Reason", key: "detail" },
      ],
      rep.exceptions,
      { testid: "revenue-exceptions", empty: "No exceptions: every won deal has its order, invoices and prices match." },
    ),
  );
  return h("div", null, parts);
}

// ------------------------------------------------------------------ change log

async function changelogView() {
  const { versions } = await get(`${base()}/changelog`);
  return h(
    "div",
    null,
    title("Change log"),
    h("p.muted", null, "Versions of the integration file as deployed, newest first."),
    versions.length === 0
      ? h("p.muted", { "data-testid": "changelog" }, "No version recorded yet.")
      : h(
          "ol.versions",
          { "data-testid": "changelog" },
          versions.map((v) =>
            h(
              "li",
              null,
              h("div", null, h("strong", null, when(v.at)), ` · ${v.hash.slice(0, 12)} · by ${v.author ?? "unknown"}`),
              v.why ? h("p", null, v.why) : null,
              h("details", null, h("summary", null, "File"), h("pre", null, v.text)),
              v.plan !== null ? h("details", null, h("summary", null, "Plan"), h("pre", null, JSON.stringify(v.plan, null, 2))) : null,
            ),
          ),
        ),
  );
}

const VIEWS = {
  dashboard: dashboardView,
  reviews: reviewsView,
  history: historyView,
  mapping: mappingView,
  customers: customersView,
  revenue: revenueView,
  changelog: changelogView,
};

window.addEventListener("hashchange", render);
start();
