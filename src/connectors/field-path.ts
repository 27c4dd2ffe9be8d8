/**
 * Field paths: naming a value inside a child table (a field of one row of a table field).
 *
 *   table[column=value].field
 *   table[column=value,column2=value2].field
 *
 * `links[link_doctype=Customer].link_name` is the `link_name` of the row of table `links` whose
 * `link_doctype` is `Customer`; `email_ids[is_primary=1].email_id` the `email_id` of the primary
 * row of `email_ids`. Names (table, columns, field) are identifiers (`[A-Za-z_][A-Za-z0-9_]*`).
 * A value is either bare — trimmed text up to the next `,` or `]`; digits (`1`, `-2`, `0.5`) are a
 * number, anything else text — or double-quoted JSON text (`"Sales Team, North"`), always text.
 *
 * Meaning, for every system and the engine alike:
 * - read: the first row (in table order) whose columns equal every selector value; no such row →
 *   the value is empty (null). A record that does not carry the table at all does not carry the path.
 * - write: the matching row's field is set (the other rows and columns are kept); no matching row →
 *   a row is appended holding the selector values and the field; an empty value removes the matching
 *   row(s).
 * - find (Connector.findByField): records having a row that matches the selector and whose field
 *   equals the value.
 * A name without `[` is a plain field name, exactly as before.
 *
 * Pure; part of the connector interface (types.ts), so connectors, the spec and the engine share it.
 */

export interface FieldPathSelector {
  column: string;
  value: string | number;
}

export interface FieldPath {
  /** The table field holding the rows. */
  table: string;
  /** Conditions a row must meet (all of them). */
  where: FieldPathSelector[];
  /** The field of the selected row. */
  field: string;
}

/** A malformed path: `position` is the 0-based character offset of the problem in the text. */
export class FieldPathError extends Error {
  readonly position: number;
  readonly expected: string;
  constructor(message: string, position: number, expected: string) {
    super(message);
    this.name = "FieldPathError";
    this.position = position;
    this.expected = expected;
  }
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /^-?\d+(\.\d+)?$/;
export const FIELD_PATH_SYNTAX = "table[column=value].field, e.g. links[link_doctype=Customer].link_name or email_ids[is_primary=1].email_id";

/** Whether a field name is a path into a child table (plain names have no `[`). */
export function isFieldPath(name: string): boolean {
  return name.includes("[");
}

/** The top-level field a name reads: the table of a path, the name itself otherwise. */
export function fieldRoot(name: string): string {
  const i = name.indexOf("[");
  return i < 0 ? name : name.slice(0, i).trim();
}

/** Parse a path. Throws FieldPathError (with the position) when it is malformed. */
export function parseFieldPath(text: string): FieldPath {
  let i = 0;
  const fail = (message: string, expected: string, at = i): never => {
    throw new FieldPathError(message, Math.min(at, text.length), expected);
  };
  const spaces = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  };
  const ident = (what: string): string => {
    spaces();
    IDENT.lastIndex = i;
    const m = IDENT.exec(text);
    if (!m) fail(i >= text.length ? `the path ends where ${what} should be` : `\`${text[i]}\` where ${what} should be`, `${what}: letters, digits and _ (not starting with a digit)`);
    i = IDENT.lastIndex;
    spaces();
    return (m as RegExpExecArray)[0];
  };
  const expect = (ch: string, expected: string) => {
    if (text[i] !== ch) fail(i >= text.length ? `the path ends where \`${ch}\` should be` : `\`${text[i]}\` where \`${ch}\` should be`, expected);
    i++;
  };

  const table = ident("the table name");
  expect("[", `\`[\` after the table name: ${FIELD_PATH_SYNTAX}`);
  const where: FieldPathSelector[] = [];
  for (;;) {
    const column = ident("a column name");
    expect("=", "`=` between the column and its value, e.g. link_doctype=Customer");
    spaces();
    let value: string | number = "";
    if (text[i] === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      if (i >= text.length) fail("the quoted value is not closed", 'a closing `"`', start);
      try {
        value = JSON.parse(text.slice(start, i + 1)) as string;
      } catch {
        fail("the quoted value is not valid JSON text", 'a "double-quoted" value with \\" and \\\\ escapes', start);
      }
      i++;
      spaces();
    } else {
      const start = i;
      while (i < text.length && text[i] !== "," && text[i] !== "]") i++;
      const raw = text.slice(start, i).trim();
      if (raw === "") fail(`the column \`${column}\` has no value`, `a value after \`${column}=\``, start);
      if (/["[=]/.test(raw)) fail(`the value \`${raw}\` holds a \`"\`, \`[\` or \`=\``, 'quote such a value: column="a value"', start);
      value = NUMBER.test(raw) ? Number(raw) : raw;
    }
    if (where.some((w) => w.column === column)) fail(`the column \`${column}\` is selected twice`, "each column once");
    where.push({ column, value });
    if (text[i] === ",") {
      i++;
      continue;
    }
    expect("]", "`,` and another condition, or `]`");
    break;
  }
  spaces();
  expect(".", "`.` and the field of the row after `]`, e.g. ].link_name");
  const field = ident("the field of the row");
  if (i < text.length) fail(`unexpected \`${text.slice(i)}\` after the field`, `nothing after the field name: ${FIELD_PATH_SYNTAX}`);
  if (where.some((w) => w.column === field)) fail(`the field \`${field}\` is also a selector column`, "a field other than the selector's columns", text.lastIndexOf(field));
  return { table, where, field };
}

/** The canonical text of a path (no spaces; values quoted only when needed). */
export function formatFieldPath(p: FieldPath): string {
  const v = (x: string | number) =>
    typeof x === "number" || (/^[^",\]\[=]+$/.test(x) && x.trim() === x && !NUMBER.test(x)) ? String(x) : JSON.stringify(x);
  return `${p.table}[${p.where.map((w) => `${w.column}=${v(w.value)}`).join(",")}].${p.field}`;
}

/** A name in canonical form: a path reformatted, a plain name unchanged. Throws FieldPathError. */
export function canonicalFieldName(name: string): string {
  return isFieldPath(name) ? formatFieldPath(parseFieldPath(name)) : name;
}

/** A cell equals a selector value: numbers by value (Check 1 = true), text exactly. */
export function cellMatches(cell: unknown, want: string | number): boolean {
  if (typeof want === "number") {
    if (typeof cell === "number") return cell === want;
    if (typeof cell === "boolean") return (cell ? 1 : 0) === want;
    if (typeof cell === "string" && NUMBER.test(cell.trim())) return Number(cell) === want;
    return false;
  }
  if (typeof cell === "string") return cell === want;
  if (typeof cell === "number" || typeof cell === "boolean") return String(cell) === want;
  return false;
}

/** Whether a row meets every condition of the path. */
export function rowMatches(row: unknown, where: readonly FieldPathSelector[]): boolean {
  if (!row || typeof row !== "object" || Array.isArray(row)) return false;
  const r = row as Record<string, unknown>;
  return where.every((w) => cellMatches(r[w.column], w.value));
}
