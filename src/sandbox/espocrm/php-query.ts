/**
 * PHP's query-string parsing (`parse_str`, what `$_GET` holds): bracket syntax builds nested
 * arrays — `where[0][type]=equals`, `where[0][value][]=a&where[0][value][]=b`. Maps whose keys
 * are all integers become JS arrays (ordered by key), the way Espo then treats PHP lists.
 */
export type PhpValue = string | PhpValue[] | { [k: string]: PhpValue };

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

export function parsePhpQuery(qs: string): Record<string, PhpValue> {
  const root: Record<string, unknown> = {};
  if (!qs) return {};
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const rawKey = decode(eq >= 0 ? part.slice(0, eq) : part);
    const value = eq >= 0 ? decode(part.slice(eq + 1)) : "";
    const b = rawKey.indexOf("[");
    if (b <= 0) {
      // PHP replaces "." and " " in the top-level name with "_"; Espo params never use them.
      root[rawKey] = value;
      continue;
    }
    const base = rawKey.slice(0, b);
    const segs: string[] = [];
    const re = /\[([^\]]*)\]/g;
    let m: RegExpExecArray | null = re.exec(rawKey.slice(b));
    while (m) {
      segs.push(m[1] ?? "");
      m = re.exec(rawKey.slice(b));
    }
    let cur: Record<string, unknown> = root;
    let key = base;
    for (const seg of segs) {
      let next = cur[key];
      if (typeof next !== "object" || next === null) {
        next = { __next: 0 };
        cur[key] = next;
      }
      const obj = next as Record<string, unknown>;
      let k = seg;
      if (k === "") {
        k = String(obj.__next as number);
      }
      if (/^\d+$/.test(k)) obj.__next = Math.max(obj.__next as number, Number(k) + 1);
      cur = obj;
      key = k;
    }
    cur[key] = value;
  }
  return finalize(root) as Record<string, PhpValue>;
}

function finalize(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => k !== "__next");
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => finalize(o[String(k)]));
  }
  const r: Record<string, unknown> = {};
  for (const k of keys) r[k] = finalize(o[k]);
  return r;
}
