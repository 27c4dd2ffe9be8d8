/** The console server (Step 9): HTTP API + web console. */
export {
  type AuthInfo,
  CONTENT_SECURITY_POLICY,
  CSRF_COOKIE,
  CSRF_HEADER,
  createServer,
  SESSION_COOKIE,
  type ServerOptions,
  startConsole,
  WEB_DIR,
} from "./app.ts";
export { hashPassword, LoginLimiter, ROLES, type Role, verifyPassword } from "./auth.ts";
export { addConsoleUser, createApiToken, publicUser, setDisabled, setPassword, setRole, userStore } from "./users.ts";
export type { Systems } from "./views.ts";
