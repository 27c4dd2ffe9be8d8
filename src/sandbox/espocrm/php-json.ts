/**
 * PHP `json_encode($value)` with no flags, as EspoCRM writes every API response:
 * `/` is escaped as `\/`, every non-ASCII UTF-16 unit as `\uXXXX` (lower-case hex, surrogate
 * pairs kept as two escapes), control characters as PHP writes them. Numbers follow
 * `serialize_precision = -1` (shortest round-trip, like JS, but `1.0e+25` where JS says `1e+25`).
 * JSON-equivalent to JSON.stringify, byte-different — which is the point: a webhook receiver
 * must verify the signature over the raw bytes, never a re-serialisation.
 */
export function phpJsonEncode(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

function write(v: unknown, out: string[]): void {
  if (v === null || v === undefined) {
    out.push("null");
    return;
  }
  switch (typeof v) {
    case "string":
      out.push(phpString(v));
      return;
    case "number":
      out.push(phpNumber(v));
      return;
    case "boolean":
      out.push(v ? "true" : "false");
      return;
    case "bigint":
      out.push(v.toString());
      return;
    case "object": {
      if (Array.isArray(v)) {
        out.push("[");
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(",");
          write(v[i], out);
        }
        out.push("]");
        return;
      }
      out.push("{");
      let first = true;
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        if (val === undefined) continue;
        if (!first) out.push(",");
        first = false;
        out.push(phpString(k), ":");
        write(val, out);
      }
      out.push("}");
      return;
    }
    default:
      out.push("null");
  }
}

function phpNumber(n: number): string {
  if (!Number.isFinite(n)) return "0"; // PHP fails on INF/NAN; never produced by the sandbox.
  const s = String(n);
  const e = s.indexOf("e");
  if (e >= 0 && !s.slice(0, e).includes(".")) return `${s.slice(0, e)}.0${s.slice(e)}`;
  return s;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the purpose
const NEEDS_ESCAPE = /["\\/\u0000-\u001f\u007f-\uffff]/;

function phpString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let r = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) r += '\\"';
    else if (c === 0x5c) r += "\\\\";
    else if (c === 0x2f) r += "\\/";
    else if (c === 0x08) r += "\\b";
    else if (c === 0x0c) r += "\\f";
    else if (c === 0x0a) r += "\\n";
    else if (c === 0x0d) r += "\\r";
    else if (c === 0x09) r += "\\t";
    else if (c < 0x20 || c > 0x7e) {
      // PHP escapes DEL (0x7f)? No: DEL is written raw. Only < 0x20 and non-ASCII are escaped.
      if (c === 0x7f) r += s[i];
      else r += `\\u${c.toString(16).padStart(4, "0")}`;
    } else r += s[i];
  }
  return `${r}"`;
}
