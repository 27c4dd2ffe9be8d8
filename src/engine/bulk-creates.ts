/**
 * Bulk creates: the creates of records in flight share calls, where the target system has a bulk
 * create (`Connector.createMany`: ERPNext `frappe.client.insert_many`, ≤ 200 documents, one
 * transaction) — the way the group commit (commits.ts) shares store transactions.
 *
 * `create(payload)` behaves like `connector.create` for its caller: it resolves with the created
 * record or rejects with the error that concerns it, so every rule of creates.ts keeps holding per
 * record (the intent is committed before the call that carries its payload; the link after).
 * Creates asked for within one turn of the event loop, or while the system's calls are busy, go out
 * together: at most `maxInFlight` calls at a time (the run's concurrency), the waiting creates
 * spread over the free calls but at least 50 per call when that many wait (while calls are out, a
 * few waiting creates wait for one to come back), at most `maxBatch` per call. The created records
 * are matched back by `key` (the object's createKey), so two payloads with one key value never share
 * a call.
 *
 * Failures: when the system refused the whole call (certainlyNotCreated: nothing was created, all
 * or none), each of its records is created again on its own, so one invalid record is quarantined
 * with its own reason and the others are created. Any other failure (timeout, connection lost) is
 * every caller's: their intents stay pending and recovery looks each record up by its key before
 * any new create — never a duplicate.
 */
import type { Connector, RemoteRecord } from "../connectors/types.ts";
import type { Json } from "../store/types.ts";
import { certainlyNotCreated } from "./creates.ts";

interface Waiting {
  payload: Record<string, Json>;
  key: string;
  resolve: (r: RemoteRecord) => void;
  reject: (e: unknown) => void;
}

export class BulkCreates {
  readonly #conn: Connector & Required<Pick<Connector, "createMany">>;
  readonly #entity: string;
  readonly #key: string;
  readonly #fields: string[] | undefined;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  /** Creates a call carries at least, when enough wait (spreading a few over every free call costs the system more). */
  readonly #minBatch: number;
  #queue: Waiting[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(
    conn: Connector & Required<Pick<Connector, "createMany">>,
    entity: string,
    opts: { key: string; fields?: string[]; maxInFlight: number },
  ) {
    this.#conn = conn;
    this.#entity = entity;
    this.#key = opts.key;
    this.#fields = opts.fields;
    this.#maxBatch = Math.max(1, conn.maxCreateBatch ?? 100);
    this.#maxInFlight = Math.max(1, opts.maxInFlight);
    this.#minBatch = Math.min(this.#maxBatch, 50);
  }

  /** Create one record (sharing a call with the creates in flight). `key`: its value of the key field. */
  create(payload: Record<string, Json>, key: string): Promise<RemoteRecord> {
    return new Promise<RemoteRecord>((resolve, reject) => {
      this.#queue.push({ payload, key, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // the rest of this turn: creates of other lanes whose intents were committed together join
    setImmediate(() => {
      this.#scheduled = false;
      this.#send();
    });
  }

  #send(): void {
    while (this.#queue.length && this.#inFlight < this.#maxInFlight) {
      // While calls are out, a few waiting creates wait for one of them to come back rather than
      // go in a call of their own (the system's cost is mostly per call): like Nagle's algorithm.
      if (this.#inFlight > 0 && this.#queue.length < this.#minBatch) return;
      const free = this.#maxInFlight - this.#inFlight;
      const size = Math.min(this.#maxBatch, Math.max(this.#minBatch, Math.ceil(this.#queue.length / free)));
      const batch: Waiting[] = [];
      const keys = new Set<string>();
      const rest: Waiting[] = [];
      for (const w of this.#queue) {
        if (batch.length < size && !keys.has(w.key)) {
          keys.add(w.key);
          batch.push(w);
        } else rest.push(w);
      }
      this.#queue = rest;
      this.#inFlight++;
      void this.#call(batch).finally(() => {
        this.#inFlight--;
        if (this.#queue.length) this.#send();
      });
    }
  }

  async #call(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.#one(batch[0]);
    let results: Array<RemoteRecord | Error>;
    try {
      // what to read back: the object's fields and whatever the payloads set (see completeCreate)
      const fields = this.#fields && [...new Set([...this.#fields, ...batch.flatMap((w) => Object.keys(w.payload))])];
      results = await this.#conn.createMany(
        this.#entity,
        batch.map((w) => w.payload),
        { key: this.#key, ...(fields ? { fields } : {}) },
      );
    } catch (err) {
      if (!certainlyNotCreated(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      // refused as a whole (one transaction): nothing was created; each record on its own
      for (const w of batch) await this.#one(w);
      return;
    }
    for (const [i, w] of batch.entries()) {
      const r = results[i];
      if (r instanceof Error || !r) w.reject(r ?? new Error("bulk create returned no entry for a record"));
      else w.resolve(r);
    }
  }

  async #one(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.#conn.create(this.#entity, w.payload));
    } catch (err) {
      w.reject(err);
    }
  }
}
