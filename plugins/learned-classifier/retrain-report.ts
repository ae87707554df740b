/** The figures a retrain reports for each version, and the paired sign test it promotes by. */
import type { TaskClass } from 'switchyard/plugin'
import type { BaseData } from './base-data.ts'
import { expectedCalibrationError } from './calibration.ts'
import { isExplicit, LABEL_WEIGHTS } from './labels.ts'
import type { CollectedLabels, LabelledExample } from './labels.ts'
import { accuracy, classShares, macroF1 } from './metrics.ts'
import type { Prediction, Served } from './predictor.ts'

const round = (x: number) => Math.round(x * 1e4) / 1e4

export interface VersionPredictions {
  readonly labels: readonly LabelledExample[]
  /** Corrections the current version was not trained on (the ones promotion is judged on). */
  readonly fresh: readonly boolean[]
  readonly collected: CollectedLabels
  readonly base: BaseData
  /** Shipped rows outside the corrected neighbourhood. */
  readonly kept: readonly number[]
  /** Predictions on the corrections (held out for a candidate). */
  readonly onLabels: readonly Prediction[]
  /** Held-out predictions on every shipped row. */
  readonly onBase: readonly Prediction[]
  /** The version's own predictions on the kept rows (it was trained on them: a fit, not a quality measure). */
  readonly fit: readonly TaskClass[]
}

/** Every figure of one version: corrections (accuracy, new ones, memory answers), ECE, kept rows, class shares, labels. */
export function reportVersion(served: Served, p: VersionPredictions) {
  const gold = p.labels.map((l) => l.label)
  const predicted = p.onLabels.map((x) => x.label)
  const fresh = p.labels.map((_, i) => i).filter((i) => p.fresh[i])
  const keptGold = p.kept.map((r) => p.base.examples[r]!.label)
  const keptPred = p.kept.map((r) => p.onBase[r]!.label)
  return {
    version: served.version,
    corrections: {
      n: gold.length, accuracy: accuracy(gold, predicted), macroF1: macroF1(gold, predicted),
      new: fresh.length, newAccuracy: accuracy(fresh.map((i) => gold[i]!), fresh.map((i) => predicted[i]!)),
      answeredByMemory: p.onLabels.filter((x) => x.memory).length,
    },
    /** ECE (10 bins) of the predictions on the corrections, and of the held-out predictions on the kept shipped rows. */
    ece: {
      corrections: round(expectedCalibrationError(p.onLabels.map((x) => x.scores[x.label]), p.onLabels.map((x, i) => x.label === gold[i]))),
      keptShipped: round(expectedCalibrationError(p.kept.map((r) => p.onBase[r]!.scores[p.onBase[r]!.label]), p.kept.map((r, j) => keptPred[j] === keptGold[j]))),
    },
    keptShipped: {
      rows: p.kept.length, leftOut: p.base.examples.length - p.kept.length,
      macroF1: macroF1(keptGold, keptPred), accuracy: accuracy(keptGold, keptPred), fitMacroF1: macroF1(keptGold, p.fit),
    },
    shares: {
      corrections: classShares(predicted), correctionLabels: classShares(gold),
      shipped: classShares(p.onBase.map((x) => x.label)), keptShipped: classShares(keptPred),
    },
    classBias: [...served.classBias], temperature: served.temperature, memoryFamilies: served.memory?.families.length ?? 0,
    labels: {
      bySource: p.collected.bySource, used: p.labels.length, explicit: p.labels.filter((l) => isExplicit(l.source)).length,
      implicit: p.labels.filter((l) => !isExplicit(l.source)).length, unusable: p.collected.unusable,
      superseded: p.collected.superseded, overLimit: p.collected.overLimit, weights: LABEL_WEIGHTS,
    },
  }
}

/**
 * One-sided sign test on paired outcomes `[currentRight, candidateRight]` (undefined: not judged): the candidate
 * passes when it fixes `wins` more than it breaks (`losses`) by at least z sqrt(wins + losses), and by at least 2.
 */
export function signTest(pairs: readonly (readonly [boolean, boolean] | undefined)[], z: number) {
  let wins = 0
  let losses = 0
  for (const pair of pairs) {
    if (!pair) continue
    if (pair[1] && !pair[0]) wins++
    if (pair[0] && !pair[1]) losses++
  }
  return { wins, losses, passed: wins - losses >= 2 && wins - losses >= z * Math.sqrt(wins + losses) }
}
