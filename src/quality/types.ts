/**
 * Shapes used by the organisation matcher (quality part).
 *
 * A record is generic over the source system: each connector turns its records into the neutral
 * `OrganisationView` (Connector.organisations); nothing here names a system.
 */
import type { OrganisationView } from "../connectors/types.ts";

/**
 * One organisation (company or site) as the matcher sees it: the connector's neutral view
 * (Connector.organisations — each connector knows where its system keeps names, addresses, tax ids).
 * Every field but `id` and `name` is optional.
 */
export type OrgRecord = OrganisationView;

/** Which step of the cascade made a decision, in the order they run. */
export type MatchStep = "link" | "shared-key" | "approved" | "exact-name-address" | "fuzzy";

/** One field's part in a score: the comparator's value (similarity 0..1 or an agreement level) and the log-odds it adds. */
export interface Contribution {
  field: string;
  comparator: string;
  /** Similarity in [0, 1] (1 = identical), or -1 when the field is missing on either side. */
  value: number;
  /** The weight of full agreement on this field (log2 odds); the largest contribution the field can make. */
  weight: number;
  /** What this field added to the score (log2 odds; negative = evidence against). */
  contribution: number;
}

export interface MatchDecision {
  crmId: string;
  erpId: string;
  step: MatchStep;
  /** Log2 odds (sum of contributions) for fuzzy decisions; for the deterministic steps the fuzzy score is still computed for information. */
  score: number;
  contributions: Contribution[];
  /** One sentence a person can read: why this pair was linked or proposed. */
  explanation: string;
}

export interface PairRef {
  crmId: string;
  erpId: string;
}

export interface MatchOptions {
  /** Links that already exist (e.g. from the store). Step 1. */
  knownLinks?: readonly PairRef[];
  /** Pairs a person approved from the review queue. Step 3. */
  approved?: readonly PairRef[];
  /** Pairs a person rejected: never linked or proposed again by the fuzzy step. */
  rejected?: readonly PairRef[];
  /**
   * One record links to at most one record on the other side (default true).
   * With false, every fuzzy pair above the link threshold is a link.
   */
  oneToOne?: boolean;
  /** Override the documented settings (settings.ts). Meant for experiments, not per-dataset tuning. */
  settings?: Partial<MatchSettings>;
}

export interface MatchResult {
  links: MatchDecision[];
  proposals: MatchDecision[];
  crmOnly: string[];
  erpOnly: string[];
}

/** A pair inside one system judged to be the same organisation. */
export interface DuplicatePair {
  aId: string;
  bId: string;
  step: "shared-key" | "exact-name-address" | "fuzzy";
  score: number;
  contributions: Contribution[];
  explanation: string;
}

export interface Cluster {
  /** The smallest record id in the cluster (stable). */
  id: string;
  recordIds: string[];
  /** The pairs that joined the cluster (a spanning set, each with its explanation). */
  pairs: DuplicatePair[];
}

export interface DedupeOptions {
  settings?: Partial<MatchSettings>;
}

export interface MatchSettings {
  /** Score (log2 odds) at or above which a fuzzy pair is linked automatically. */
  linkThreshold: number;
  /** Score at or above which (and below linkThreshold) a pair is proposed for review. Below it: new record. */
  reviewThreshold: number;
  /** Blocks larger than this (on either side) are skipped for that key; other keys still apply. */
  maxBlockSize: number;
  /** At most this many candidates per record are scored (closest first by shared-key count). */
  maxCandidatesPerRecord: number;
}
