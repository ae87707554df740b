/** Calibration: expected calibration error, a fitted temperature for the logits, and a fitted class bias. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'

export type Logits = readonly [number, number, number]

/** Expected calibration error over equal-width confidence bins: the row-weighted mean |accuracy - confidence|. */
export function expectedCalibrationError(confidence: ArrayLike<number>, correct: ArrayLike<boolean>, bins = 10): number {
  const n = confidence.length
  if (n === 0) return 0
  const count = new Float64Array(bins)
  const conf = new Float64Array(bins)
  const hits = new Float64Array(bins)
  for (let i = 0; i < n; i++) {
    const b = Math.min(bins - 1, Math.floor(confidence[i]! * bins))
    count[b]!++
    conf[b]! += confidence[i]!
    if (correct[i]) hits[b]!++
  }
  let ece = 0
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += Math.abs(hits[b]! - conf[b]!) / n
  return ece
}

/** Softmax of `logits / temperature + bias`, in TASK_CLASSES order. */
export function calibratedProbabilities(logits: Logits, temperature = 1, bias: Logits = [0, 0, 0]): [number, number, number] {
  const z0 = logits[0] / temperature + bias[0]
  const z1 = logits[1] / temperature + bias[1]
  const z2 = logits[2] / temperature + bias[2]
  const max = Math.max(z0, z1, z2)
  const e0 = Math.exp(z0 - max)
  const e1 = Math.exp(z1 - max)
  const e2 = Math.exp(z2 - max)
  const z = e0 + e1 + e2
  return [e0 / z, e1 / z, e2 / z]
}

/** ECE of held-out logits against their labels after a temperature (and bias). */
export function logitsEce(logits: readonly Logits[], labels: readonly TaskClass[], temperature = 1, bias: Logits = [0, 0, 0]): number {
  const confidence = new Float64Array(logits.length)
  const correct = logits.map((l, i) => {
    const p = calibratedProbabilities(l, temperature, bias)
    const top = p[0] >= p[1] && p[0] >= p[2] ? 0 : p[1] >= p[2] ? 1 : 2
    confidence[i] = p[top]!
    return TASK_CLASSES[top] === labels[i]
  })
  return expectedCalibrationError(confidence, correct)
}

const negLogLikelihood = (logits: readonly Logits[], labels: readonly TaskClass[], weights: readonly number[] | undefined, t: number, bias: Logits) => {
  let loss = 0
  logits.forEach((l, i) => {
    const p = calibratedProbabilities(l, t, bias)
    loss -= (weights?.[i] ?? 1) * Math.log(Math.max(1e-12, p[TASK_CLASSES.indexOf(labels[i]!)]!))
  })
  return loss
}

/**
 * The temperature (between 0.25 and 8) that minimizes the negative log-likelihood of held-out logits: golden-section
 * search on log T. Dividing logits by one scalar never changes which class wins, only how sure the scores say it is.
 */
export function fitTemperature(logits: readonly Logits[], labels: readonly TaskClass[]): number {
  if (logits.length === 0) return 1
  const f = (x: number) => negLogLikelihood(logits, labels, undefined, Math.exp(x), [0, 0, 0])
  const g = (Math.sqrt(5) - 1) / 2
  let a = Math.log(0.25)
  let b = Math.log(8)
  let c = b - g * (b - a)
  let d = a + g * (b - a)
  let fc = f(c)
  let fd = f(d)
  // 40 steps shrink the bracket by 0.618^40 (~1e-8): far below the 4 decimals kept.
  for (let i = 0; i < 40; i++) {
    if (fc < fd) {
      b = d
      d = c
      fd = fc
      c = b - g * (b - a)
      fc = f(c)
    } else {
      a = c
      c = d
      fc = fd
      d = a + g * (b - a)
      fd = f(d)
    }
  }
  return Math.round(Math.exp((a + b) / 2) * 1e4) / 1e4
}

/**
 * A class bias (added to the tempered logits) fitted to labelled logits by weighted maximum likelihood, with a prior
 * worth `priorWeight` label-weight units pulling it toward zero (a few corrections move it little; an explicit
 * correction weighs 4), each class kept within [min, max]. Projected gradient descent; the result is centred where
 * the bounds allow (softmax ignores a shared shift).
 */
export function fitClassBias(
  logits: readonly Logits[], labels: readonly TaskClass[], weights: readonly number[], temperature: number,
  bounds: { readonly min: number; readonly max: number }, priorWeight = 20,
): [number, number, number] {
  const bias: [number, number, number] = [0, 0, 0]
  const total = weights.reduce((s, w) => s + w, 0) + priorWeight
  if (logits.length === 0) return bias
  const clamp = (x: number) => Math.min(bounds.max, Math.max(bounds.min, x))
  for (let iter = 0; iter < 300; iter++) {
    const grad = bias.map((b) => priorWeight * b)
    logits.forEach((l, i) => {
      const p = calibratedProbabilities(l, temperature, bias)
      const y = TASK_CLASSES.indexOf(labels[i]!)
      for (let c = 0; c < 3; c++) grad[c]! += weights[i]! * (p[c]! - (c === y ? 1 : 0))
    })
    for (let c = 0; c < 3; c++) bias[c] = clamp(bias[c]! - (2 * grad[c]!) / total)
  }
  const mean = (bias[0] + bias[1] + bias[2]) / 3
  const centred = bias.map((b) => b - mean)
  if (centred.every((b) => b >= bounds.min && b <= bounds.max)) for (let c = 0; c < 3; c++) bias[c] = centred[c]!
  return bias.map((b) => Math.round(b * 1e4) / 1e4) as [number, number, number]
}
