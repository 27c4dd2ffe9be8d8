/** JSON Schema of the integration file, for editors (YAML language server: `# yaml-language-server: $schema=...`). */
import * as z from "zod";
import { integrationFileSchema } from "./schema.ts";

export function integrationJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(integrationFileSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    ...schema,
    title: "Accord integration file",
  };
}
