/** Output helpers shared by the commands: JSON vs. human text, errors that say what to do. */
import { isAccordError, SpecError } from "../errors.ts";
import { EXIT } from "./exit-codes.ts";

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Render a table of rows (objects) with the given columns as aligned text. */
export function formatTable(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n");
}

/** Print an error for a person (or as JSON) and return the exit code it maps to. */
export function reportError(err: unknown, json = false): number {
  if (err instanceof SpecError) {
    if (json) printJson({ ok: false, error: err.toJSON(), issues: err.issues });
    else {
      process.stderr.write(`${err.message}\n`);
      for (const i of err.issues) {
        process.stderr.write(`  ${i.file}:${i.line}:${i.column}  ${i.path ? `${i.path}: ` : ""}${i.message}${i.expected ? ` (${i.expected})` : ""}\n`);
      }
      process.stderr.write(`${err.hint}\n`);
    }
    return EXIT.invalid;
  }
  if (isAccordError(err)) {
    if (json) printJson({ ok: false, error: err.toJSON() });
    else {
      const w = err.where;
      const where = [w.system, w.object, w.record, w.field].filter(Boolean).join(" / ");
      process.stderr.write(`${err.errorClass}: ${err.message}${where ? ` [${where}]` : ""}\n${err.hint ? `What to do: ${err.hint}\n` : ""}`);
    }
    return err.errorClass === "AuthError" || (err.errorClass === "Transient" && err.status === undefined) ? EXIT.unreachable : EXIT.failure;
  }
  const e = err as Error;
  if (json) printJson({ ok: false, error: { class: "Error", message: e?.message ?? String(err) } });
  else process.stderr.write(`error: ${e?.stack ?? String(err)}\n`);
  return EXIT.failure;
}
