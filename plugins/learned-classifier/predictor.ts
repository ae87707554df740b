/** One served version of the learned classifier (weights, temperature, fitted bias, correction memory) and its prediction. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { ClassScores, TaskClass } from 'switchyard/plugin'
import { calibratedProbabilities } from './calibration.ts'
import type { Logits } from './calibration.ts'
import type { Vector } from './featurize.ts'
import type { CorrectionMemory, MemoryHit } from './memory.ts'
import { modelLogits } from './model.ts'
import type { Model } from './model.ts'

/** Everything a version decides with; a promotion or rollback swaps the whole object at once. */
export interface Served {
  /** `shipped-<hash>` (the configured weights file) or `v1`, `v2`, ... (promoted retrains). */
  readonly version: string
  /** The id of the weights the retrains start from (`shipped-<hash>`); a stored version for another base is not loaded. */
  readonly base: string
  readonly model: Model
  /** Divides the logits (fitted on held-out predictions of the shipped model; `meta.temperature`), 1 when absent. */
  readonly temperature: number
  /** Added to the tempered logits: the bias a retrain fitted to the corrections ([0, 0, 0] for the shipped weights). */
  readonly classBias: Logits
  readonly memory?: CorrectionMemory
  /** Keys (prompt hashes) of the corrections this version was trained on; a later retrain is judged on the others. */
  readonly trainedOn: ReadonlySet<string>
}

export interface Prediction {
  readonly label: TaskClass
  readonly scores: ClassScores
  /** The model's raw logits (before temperature and bias), for calibration and bias fitting. */
  readonly logits: Logits
  /** Set when the correction memory answered instead of the model. */
  readonly memory?: MemoryHit
}

/** The temperature a weights file's meta carries (1 when it has none). */
export const temperatureOf = (model: Model): number => {
  const t = model.meta.temperature
  return typeof t === 'number' && t > 0 && Number.isFinite(t) ? t : 1
}

/**
 * Predict with a served version plus the operator's `bias` option. A memory hit wins: its label gets 0.6 of the score
 * mass on top of 0.4 of the model's scores, so the scores still show what the model alone thought.
 */
export function predict(served: Served, fv: Vector, optionBias: Logits = [0, 0, 0]): Prediction {
  const logits = modelLogits(served.model, fv)
  const b = served.classBias
  const p = calibratedProbabilities(logits, served.temperature, [b[0] + optionBias[0], b[1] + optionBias[1], b[2] + optionBias[2]])
  return decide(p, logits, served.memory?.lookup(fv))
}

/** The label and scores from class probabilities and an optional memory hit (the rule `predict` states). */
export function decide(p: readonly [number, number, number], logits: Logits, hit: MemoryHit | undefined): Prediction {
  if (hit !== undefined) {
    const k = TASK_CLASSES.indexOf(hit.label)
    const scores = { SIMPLE: 0.4 * p[0] + (k === 0 ? 0.6 : 0), MODERATE: 0.4 * p[1] + (k === 1 ? 0.6 : 0), COMPLEX: 0.4 * p[2] + (k === 2 ? 0.6 : 0) }
    return { label: hit.label, scores, logits, memory: hit }
  }
  const label: TaskClass = p[2] >= p[1] && p[2] >= p[0] ? 'COMPLEX' : p[1] >= p[0] ? 'MODERATE' : 'SIMPLE'
  return { label, scores: { SIMPLE: p[0], MODERATE: p[1], COMPLEX: p[2] }, logits }
}
