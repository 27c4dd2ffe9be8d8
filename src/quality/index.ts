/** The quality part's matching core: link organisations across systems, find duplicates within one. */
export { findDuplicates } from "./dedupe.ts";
export { matchAcross } from "./match.ts";
export { normaliseName, normaliseStreet } from "./normalize.ts";
export { DEFAULT_SETTINGS, FIELD_MODELS, STREET_CONFLICT } from "./settings.ts";
export type {
  Cluster,
  Contribution,
  DedupeOptions,
  DuplicatePair,
  MatchDecision,
  MatchOptions,
  MatchResult,
  MatchSettings,
  MatchStep,
  OrgRecord,
  PairRef,
} from "./types.ts";
