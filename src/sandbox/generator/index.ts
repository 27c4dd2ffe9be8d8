/** Sandbox data generator: deterministic CRM + ERP data with labelled ground truth. */
export { generate } from "./generate.ts";
export { truthToCsv, writeTruth } from "./truth.ts";
export * from "./types.ts";
