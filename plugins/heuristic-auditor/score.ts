/** The checks' names and default weights, and how the checks that fire combine into one score. */

export const CHECKS = ['empty', 'truncated', 'refusal', 'repetition', 'brokenCode', 'tooShort', 'wrongLanguage'] as const
export type Check = (typeof CHECKS)[number]

/** How much each check lowers the score when it fires: the score is multiplied by (1 - weight). */
export const DEFAULT_WEIGHTS: Readonly<Record<Check, number>> = {
  empty: 1,
  truncated: 0.7,
  refusal: 0.8,
  repetition: 0.7,
  brokenCode: 0.6,
  tooShort: 0.5,
  wrongLanguage: 0.6,
}

export interface Finding {
  readonly check: Check
  readonly reasons: readonly string[]
}

/**
 * Product of (1 - weight) over the checks that fired: independent faults compound, one fault alone costs its
 * weight, and no number of faults goes below 0. A check weighted 0 is off: it neither lowers the score nor gives a reason.
 */
export function combine(findings: readonly Finding[], weights: Readonly<Record<Check, number>>): { score: number; reasons: string[] } {
  let score = 1
  const reasons: string[] = []
  for (const { check, reasons: found } of findings) {
    if (found.length === 0 || weights[check] === 0) continue
    score *= 1 - weights[check]
    reasons.push(...found)
  }
  return { score: Math.max(0, Math.min(1, score)), reasons }
}
