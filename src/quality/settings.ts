/**
 * THE settings of the organisation matcher — one set for every data set and every caller.
 *
 * The score is a small Fellegi–Sunter-style model: each field adds log2(m/u), the log-odds that
 * a pair agreeing this much on the field is a true match rather than a chance coincidence. The
 * values below are fixed by hand from the usual m/u rates for organisation data (not fitted to
 * any benchmark), and are interpolated linearly between similarity anchors so that a comparator's
 * value in [0, 1] maps to a contribution. A missing value on either side adds 0.
 *
 * Rough m/u reasoning behind the anchors (m = P(agree | match), u = P(agree | non-match)):
 *   - tax id: m ≈ 0.99, u ≈ 1e-4               → +12; disagreement m≈0.01/u≈1 → -10
 *   - phone (last 7–9 digits): m ≈ 0.7, u ≈ 1e-3 → +7; disagreement is weak evidence (a switchboard
 *     in one system, a person's direct line in the other): -1.5
 *   - exact normalised name: m ≈ 0.6, u ≈ 5e-3   → +7; very different name → -5
 *   - street number equal: m ≈ 0.9, u ≈ 0.08     → +3.5; different → -4
 *   - street name equal: m ≈ 0.9, u ≈ 0.1 within a block → +3
 *   - postal code equal: m ≈ 0.9, u ≈ 0.15 within a block → +2.5
 *   - web / e-mail domain (not free-mail), one field: m ≈ 0.6, u ≈ 0.01 → +6
 *   - city equal: weak within a block (+1), different city -1.5
 *   - country different: -5
 */
import type { MatchSettings } from "./types.ts";

/** A comparator value in [0, 1] → contribution (log2 odds), by linear interpolation between anchors sorted by value. */
export type Anchors = ReadonlyArray<readonly [similarity: number, contribution: number]>;

export interface FieldModel {
  /** Contribution by similarity. The last anchor's contribution is the field's weight. */
  anchors: Anchors;
}

export const FIELD_MODELS = {
  /** max(token-set ratio with subset discount, soft token match with abbreviations, Levenshtein ratio of the compact name). */
  name: {
    anchors: [
      [0, -5],
      [0.6, -3.5],
      [0.75, -0.5],
      [0.85, 3],
      [0.93, 5],
      [1, 7],
    ],
  },
  /** Street number: exact 1, same digits different letter ("12" / "12a") 0.5, different 0. */
  streetNumber: {
    anchors: [
      [0, -4],
      [0.5, 1],
      [1, 3.5],
    ],
  },
  /** max(Jaro–Winkler of the first street word, token-set ratio of the street-name tokens). */
  streetName: {
    anchors: [
      [0, -2],
      [0.7, -1],
      [0.85, 1.5],
      [1, 3],
    ],
  },
  /** Postal code: exact 1, same first three characters 0.5, different 0. */
  postalCode: {
    anchors: [
      [0, -2.5],
      [0.5, -1],
      [1, 2.5],
    ],
  },
  /** Jaro–Winkler of the normalised city. */
  city: {
    anchors: [
      [0, -1.5],
      [0.85, -0.5],
      [0.95, 0.5],
      [1, 1],
    ],
  },
  /** Country code exact. */
  country: {
    anchors: [
      [0, -5],
      [1, 0.5],
    ],
  },
  /** Phone: last 9 digits 1, last 7 only 0.9, different 0. */
  phone: {
    anchors: [
      [0, -1.5],
      [0.9, 6],
      [1, 7],
    ],
  },
  /** Any shared internet domain (web site or e-mail; a free-mail address compares as the whole address). */
  domain: {
    anchors: [
      [0, -1.5],
      [1, 6],
    ],
  },
  /** Tax id exact. */
  taxId: {
    anchors: [
      [0, -10],
      [1, 12],
    ],
  },
} as const satisfies Record<string, FieldModel>;

/**
 * One interaction term: when the street numbers differ AND the street names differ too
 * (similarity below `streetNameBelow`), the records describe different places; the street-number
 * contribution is then `streetNumberContribution` instead of its anchor value (-4). With the
 * street-name disagreement this makes about -9: enough that a shared name and a shared phone
 * (e.g. two sites of one organisation with one switchboard) are proposed, not linked.
 */
export const STREET_CONFLICT = { streetNameBelow: 0.7, streetNumberContribution: -7 } as const;

/**
 * Term-frequency adjustment: agreeing on a name (similarity ≥ nameFrom, scaled up to full at 1)
 * or a domain that `f` organisations in the population share adds -log2(f) (at most maxPenalty),
 * because the chance that two different organisations agree on it grows with f.
 */
export const FREQUENCY_ADJUSTMENT = { nameFrom: 0.85, maxPenalty: 4 } as const;

export type FieldName = keyof typeof FIELD_MODELS;

/**
 * Decision thresholds and blocking limits (log2 odds).
 * linkThreshold 9  ≈ odds 512:1 — e.g. a close name (+3) plus street number and street (+6.5);
 * reviewThreshold 4 ≈ odds 16:1 — worth a person's look.
 */
export const DEFAULT_SETTINGS: MatchSettings = {
  linkThreshold: 9,
  reviewThreshold: 4,
  maxBlockSize: 60,
  maxCandidatesPerRecord: 40,
};

export function resolveSettings(overrides?: Partial<MatchSettings>): MatchSettings {
  return { ...DEFAULT_SETTINGS, ...(overrides ?? {}) };
}

/** Linear interpolation of a contribution from anchors. */
export function interpolate(anchors: Anchors, x: number): number {
  const first = anchors[0] as readonly [number, number];
  if (x <= first[0]) return first[1];
  for (let i = 1; i < anchors.length; i++) {
    const [x1, y1] = anchors[i] as readonly [number, number];
    if (x <= x1) {
      const [x0, y0] = anchors[i - 1] as readonly [number, number];
      return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    }
  }
  return (anchors[anchors.length - 1] as readonly [number, number])[1];
}
