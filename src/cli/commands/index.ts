/** All commands of the CLI, in the order `accord --help` lists them. */
import type { Command } from "commander";
import { register as alerts } from "./alerts.ts";
import { register as apply } from "./apply.ts";
import { register as audit } from "./audit.ts";
import { register as changes } from "./changes.ts";
import { register as customer } from "./customer.ts";
import { register as demo } from "./demo.ts";
import { register as doc } from "./doc.ts";
import { register as drift } from "./drift.ts";
import { register as fix } from "./fix.ts";
import { register as history } from "./history.ts";
import { register as integration } from "./integration.ts";
import { register as link } from "./link.ts";
import { register as merge } from "./merge.ts";
import { register as plan } from "./plan.ts";
import { register as report } from "./report.ts";
import { register as review } from "./review.ts";
import { register as run } from "./run.ts";
import { register as sandbox } from "./sandbox.ts";
import { register as schema } from "./schema.ts";
import { register as server } from "./server.ts";
import { register as status } from "./status.ts";
import { register as sync } from "./sync.ts";
import { register as token } from "./token.ts";
import { register as user } from "./user.ts";
import { register as validate } from "./validate.ts";
import { register as webhooks } from "./webhooks.ts";
import { register as worker } from "./worker.ts";

export const commands: Array<(program: Command) => void> = [
  validate,
  doc,
  schema,
  audit,
  fix,
  merge,
  link,
  plan,
  sync,
  run,
  webhooks,
  status,
  alerts,
  drift,
  apply,
  changes,
  review,
  history,
  customer,
  report,
  server,
  worker,
  integration,
  user,
  token,
  sandbox,
  demo,
];
