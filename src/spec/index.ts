/** The spec part's public surface (other parts may also import the modules directly). */
export type * from "./model.ts";
export { describeConflict, describeSchedule, escapeHtml, type MappingDocFormat, type MappingDocSchemas, type MappingRow, mappingRows, renderMappingDoc } from "./doc.ts";
export { integrationJsonSchema } from "./json-schema.ts";
export { loadSpec, loadSpecFile, parseDuration, pathToString, resolveCredentials, resolveUrl } from "./load.ts";
export { applyTransform, describeTransform } from "./transform.ts";
