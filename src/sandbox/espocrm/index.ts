/** The emulated EspoCRM server. See server.ts for options, README.md for the control API. */

export { phpJsonEncode } from "./php-json.ts";
export {
  type EspoCrmSandbox,
  type EspoCrmSandboxOptions,
  type SandboxControl,
  startEspoCrmSandbox,
} from "./server.ts";
export { signatureHeaders } from "./webhooks.ts";
