/** Emulated ERPNext / Frappe v15 site for tests, demos and staging trials. See README.md. */
export { type ErpNextSandbox, type ErpNextSandboxOptions, startErpNextSandbox } from "./server.ts";
export { webhookSignature } from "./webhooks.ts";
export type { WebhookDelivery } from "./webhooks.ts";
