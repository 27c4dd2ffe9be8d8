/**
 * `accord status FILE`: one screen telling an owner whether all is well — from the store (runs,
 * alerts, reviews, quarantine, accepted schema) and, when the systems are reachable, a live drift
 * check. The verdict is OK only when nothing needs a person.
 */
import type { IntegrationSpec } from "../spec/model.ts";
import type { Alert, Run, Store } from "../store/types.ts";
import type { DriftReport } from "./drift.ts";
import { hasPauses } from "./drift.ts";
import { type MonitorSettings, objectSettings } from "./settings.ts";

export interface ObjectStatus {
  object: string;
  schedule: string;
  lastRun: Pick<Run, "status" | "startedAt" | "finishedAt" | "counts" | "error"> | null;
  lastOkAt: string | null;
  fresh: boolean;
  openReviews: number;
  quarantined: number;
  paused: string[];
}

export interface StatusReport {
  integration: string;
  verdict: "ok" | "attention" | "failing";
  reasons: string[];
  objects: ObjectStatus[];
  alerts: Alert[];
  drift: { checked: boolean; error?: string; findings: number; pauses: DriftReport["pauses"] };
  lastChange: { at: string; author: string | null; why: string | null } | null;
  /** The `accord run` process holding the integration (lease live), if any. */
  runner: { holder: string; since: string; live: boolean } | null;
}

export async function statusOf(
  spec: IntegrationSpec,
  store: Store,
  settings: MonitorSettings,
  drift: DriftReport | { error: string } | undefined,
  now: Date = new Date(),
): Promise<StatusReport> {
  const reasons: string[] = [];
  let failing = false;
  const objects: ObjectStatus[] = [];
  const pauses = drift && "pauses" in drift ? drift.pauses : {};
  for (const o of spec.objects) {
    const runs = await store.listRuns(spec.name, { object: o.name, limit: 50 });
    const last = runs[0];
    const ok = runs.find((r) => r.status === "ok");
    const okAt = ok ? (ok.finishedAt ?? ok.startedAt) : null;
    const fresh = okAt !== null && now.getTime() - Date.parse(okAt) <= objectSettings(settings, o).freshnessMs;
    const openReviews = (await store.listReviews(spec.name, { object: o.name, status: "open" })).length;
    const quarantined = (await store.listQuarantine(spec.name, { object: o.name, status: "open" })).length;
    const p = pauses[o.name];
    const paused = p
      ? [
          ...(p.whole ? ["whole object"] : []),
          ...Object.keys(p.fields).map((k) => k.replace("|", " ↔ ")),
          ...Object.keys(p.createsInto).map((s) => `creates into ${s}`),
        ]
      : [];
    objects.push({
      object: o.name,
      schedule: "tier" in o.schedule ? o.schedule.tier : `cron ${o.schedule.cron}`,
      lastRun: last
        ? { status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, counts: last.counts, error: last.error }
        : null,
      lastOkAt: okAt,
      fresh,
      openReviews,
      quarantined,
      paused,
    });
    if (last?.status === "failed") {
      failing = true;
      reasons.push(`${o.name}: the last run failed — ${last.error ?? "no message"}`);
    }
    if (!fresh) reasons.push(`${o.name}: ${okAt ? `no successful run since ${okAt}` : "never synced successfully"}`);
    if (openReviews) reasons.push(`${o.name}: ${openReviews} item(s) wait for review (accord review list)`);
    if (quarantined) reasons.push(`${o.name}: ${quarantined} record(s) quarantined`);
    if (paused.length) reasons.push(`${o.name}: paused by schema drift — ${paused.join(", ")}`);
  }
  const alerts = store.listAlerts ? await store.listAlerts(spec.name, { status: "active" }) : [];
  for (const a of alerts) {
    if (a.severity === "critical") failing = true;
    reasons.push(
      `alert #${a.id} ${a.severity} ${a.rule}${a.object ? ` (${a.object})` : ""}${a.status === "acknowledged" ? ` — acknowledged by ${a.ackedBy}` : ""}`,
    );
  }
  const driftInfo: StatusReport["drift"] =
    drift === undefined
      ? { checked: false, findings: 0, pauses: {} }
      : "error" in drift
        ? { checked: false, error: drift.error, findings: 0, pauses: {} }
        : { checked: true, findings: drift.findings.filter((f) => f.action !== "none").length, pauses: drift.pauses };
  if (driftInfo.error) reasons.push(`systems not reachable for the drift check: ${driftInfo.error}`);
  if (drift && "pauses" in drift && hasPauses(drift.pauses)) failing = true;
  const lock = store.getLock ? await store.getLock(spec.name) : undefined;
  const runner = lock ? { holder: lock.holder, since: lock.acquiredAt, live: Date.parse(lock.expiresAt) > now.getTime() } : null;
  if (!runner?.live) reasons.push("no `accord run` process holds this integration: nothing syncs on schedule or webhooks");
  const versions = await store.listSpecVersions(spec.name);
  const v = versions[0];
  return {
    integration: spec.name,
    verdict: failing ? "failing" : reasons.length ? "attention" : "ok",
    reasons,
    objects,
    alerts,
    drift: driftInfo,
    lastChange: v ? { at: v.at, author: v.author, why: v.why } : null,
    runner,
  };
}

export function renderStatus(s: StatusReport): string {
  const head = { ok: "ALL WELL", attention: "NEEDS ATTENTION", failing: "FAILING" }[s.verdict];
  const lines = [
    `${s.integration}: ${head}`,
    s.runner?.live ? `accord run: live (${s.runner.holder}, since ${s.runner.since})` : "accord run: not running",
    "",
  ];
  for (const o of s.objects) {
    const c = o.lastRun?.counts;
    lines.push(
      `  ${o.object.padEnd(16)} ${o.schedule.padEnd(10)} ${o.lastRun ? `${o.lastRun.status.padEnd(6)} ${o.lastRun.finishedAt ?? o.lastRun.startedAt}` : "never run".padEnd(31)}  ${c ? `read ${c.read} applied ${c.applied} held ${c.held} quarantined ${c.quarantined}` : ""}${o.fresh ? "" : "  STALE"}${o.paused.length ? "  PAUSED" : ""}`,
    );
  }
  lines.push(
    "",
    s.drift.checked
      ? `schema: ${s.drift.findings ? `${s.drift.findings} drift finding(s) (accord drift FILE)` : "as accepted"}`
      : `schema: not checked${s.drift.error ? ` (${s.drift.error})` : ""}`,
  );
  lines.push(`alerts: ${s.alerts.length ? `${s.alerts.length} active (accord alerts list FILE)` : "none"}`);
  if (s.lastChange) lines.push(`last change of the file: ${s.lastChange.at} by ${s.lastChange.author ?? "?"} — ${s.lastChange.why ?? ""}`);
  if (s.reasons.length) lines.push("", ...s.reasons.map((r) => `  • ${r}`));
  return lines.join("\n");
}
