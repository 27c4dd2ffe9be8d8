/**
 * PHP `json_encode($value)` with no flags, as EspoCRM writes every API response:
 * `/` is escaped as `\/`, every non-ASCII UTF-16 unit as `\uXXXX` (lower-case hex, surrogate
 * pairs kept as two escapes), control characters as PHP writes them (`\n`, `\t`, `\u0001`…).
 * Numbers follow `serialize_precision = -1` (shortest round-trip, like JS).
 * JSON-equivalent to JSON.stringify, byte-different — which is the point: a webhook receiver
 * must verify the signature over the raw bytes, never over a re-serialisation.
 *
 * Implementation: JSON.stringify already escapes `"`, `\` and C0 controls exactly as PHP does
 * (short forms for \b \f \n \r \t, lower-case \u00XX otherwise), so only `/` and non-ASCII
 * need rewriting afterwards. Exponent numbers get PHP's `.0` mantissa (`1.0e+25`).
 */
const REWRITE = /[/\u0080-\uffff]/g;
const EXP_NUMBER = /([:,[]-?\d+)(e[+-]\d+)(?=[,\]}])/g;

function rewrite(ch: string): string {
  if (ch === "/") return "\\/";
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

export function phpJsonEncode(value: unknown): string {
  const s = JSON.stringify(value === undefined ? null : value) ?? "null";
  let out = REWRITE.test(s) ? s.replace(REWRITE, rewrite) : s;
  REWRITE.lastIndex = 0;
  if (out.includes("e+") || out.includes("e-")) out = fixExponents(out);
  return out;
}

/** `1e+25` → `1.0e+25` outside strings. */
function fixExponents(s: string): string {
  let res = "";
  let i = 0;
  let inStr = false;
  let segStart = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') {
        inStr = false;
        segStart = i + 1;
      }
    } else if (c === '"') {
      res += s.slice(segStart, i).replace(EXP_NUMBER, "$1.0$2");
      res += '"';
      inStr = true;
      segStart = i + 1;
      // copy the string body verbatim later
      const start = i + 1;
      let j = start;
      for (; j < s.length; j++) {
        if (s[j] === "\\") j++;
        else if (s[j] === '"') break;
      }
      res += `${s.slice(start, j)}"`;
      i = j;
      inStr = false;
      segStart = j + 1;
    }
  }
  res += s.slice(segStart).replace(EXP_NUMBER, "$1.0$2");
  return res;
}
