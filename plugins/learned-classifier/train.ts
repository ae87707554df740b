/** Training for the learned classifier: seeded mini-batch Adam on softmax cross-entropy with L2. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'
import { DENSE_FEATURE_NAMES } from '../heuristic-classifier/features.ts'
import { DEFAULT_FEATURE_SPEC } from './featurize.ts'
import type { FeatureSpec, Vector } from './featurize.ts'
import { modelLogits } from './model.ts'
import type { Model } from './model.ts'
import { createYielder, runSteps, runStepsAsync } from './yielder.ts'

export interface TrainExample {
  readonly fv: Vector
  readonly label: TaskClass
  /** Multiplies this example's gradient (a user's correction counts more than a dataset row); 1 when absent. */
  readonly weight?: number
}

export interface TrainOptions {
  readonly seed: number
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  readonly l2: number
  readonly spec: FeatureSpec
  /**
   * `adam` updates every parameter each step (how the shipped weights are trained, so they reproduce byte for byte);
   * `lazy-adam` updates only the parameters the batch touched (L2 included): about 3x faster on hashed features
   * (0.3 s instead of 1.1 s on the 3125 dev and supplement rows), what a retrain inside the gateway uses; on the dev
   * data its grouped-CV macro-F1 is 0.830 (0.829 with 8 epochs) against 0.821 for `adam`.
   */
  readonly optimizer: 'adam' | 'lazy-adam'
  readonly meta?: Readonly<Record<string, unknown>>
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 1, epochs: 12, batchSize: 32, learningRate: 0.05, l2: 1e-5, spec: DEFAULT_FEATURE_SPEC, optimizer: 'adam',
}

/** mulberry32: a tiny seeded PRNG so training is reproducible. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i] as T
    items[i] = items[j] as T
    items[j] = tmp
  }
  return items
}

/**
 * The training loop as a generator that yields after each mini-batch and returns the model, so the same code runs
 * straight through (`trainModel`) or gives the event loop a turn now and then (`trainModelAsync`).
 */
function* trainSteps(examples: readonly TrainExample[], partial: Partial<TrainOptions>): Generator<void, Model> {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...partial }
  const K = TASK_CLASSES.length
  const D = DENSE_FEATURE_NAMES.length
  const nHashed = (1 << o.spec.bits) * K
  const params = new Float32Array(nHashed + D * K + K)
  const grad = new Float32Array(params.length)
  const m1 = new Float32Array(params.length)
  const m2 = new Float32Array(params.length)
  const lazy = o.optimizer === 'lazy-adam'
  // lazy-adam: the hashed buckets a batch touched (each holds K parameters); dense and bias parameters always update.
  const touched = new Int32Array(1 << o.spec.bits)
  const mark = new Uint8Array(1 << o.spec.bits)
  let nTouched = 0
  const model: Model = {
    spec: o.spec,
    weights: params.subarray(0, nHashed),
    dense: params.subarray(nHashed, nHashed + D * K),
    bias: params.subarray(nHashed + D * K),
    meta: o.meta ?? {},
  }
  const random = createRandom(o.seed)
  const order = examples.map((_, i) => i)
  const b1 = 0.9
  const b2 = 0.999
  let step = 0
  const update = (i: number, lr: number) => {
    const g = (grad[i] ?? 0) + o.l2 * (params[i] ?? 0)
    if (g === 0) return
    m1[i] = b1 * (m1[i] ?? 0) + (1 - b1) * g
    m2[i] = b2 * (m2[i] ?? 0) + (1 - b2) * g * g
    params[i]! -= (lr * (m1[i] ?? 0)) / (Math.sqrt(m2[i] ?? 0) + 1e-8)
  }
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffleInPlace(order, random)
    for (let start = 0; start < order.length; start += o.batchSize) {
      if (!lazy) grad.fill(0)
      nTouched = 0
      const batch = order.slice(start, start + o.batchSize)
      for (const idx of batch) {
        const ex = examples[idx] as TrainExample
        const logits = modelLogits(model, ex.fv)
        const max = Math.max(...logits)
        const exps = logits.map((l) => Math.exp(l - max))
        const z = exps[0]! + exps[1]! + exps[2]!
        const y = TASK_CLASSES.indexOf(ex.label)
        const weight = ex.weight ?? 1
        const g0 = (((exps[0] ?? 0) / z - (y === 0 ? 1 : 0)) / batch.length) * weight
        const g1 = (((exps[1] ?? 0) / z - (y === 1 ? 1 : 0)) / batch.length) * weight
        const g2 = (((exps[2] ?? 0) / z - (y === 2 ? 1 : 0)) / batch.length) * weight
        const { index, value, dense } = ex.fv
        for (let i = 0; i < index.length; i++) {
          const bucket = index[i] ?? 0
          const x = value[i] ?? 0
          grad[bucket * K]! += g0 * x
          grad[bucket * K + 1]! += g1 * x
          grad[bucket * K + 2]! += g2 * x
          if (lazy && mark[bucket] === 0) {
            mark[bucket] = 1
            touched[nTouched++] = bucket
          }
        }
        for (let i = 0; i < D; i++) {
          const x = dense[i] ?? 0
          grad[nHashed + i * K]! += g0 * x
          grad[nHashed + i * K + 1]! += g1 * x
          grad[nHashed + i * K + 2]! += g2 * x
        }
        grad[nHashed + D * K]! += g0
        grad[nHashed + D * K + 1]! += g1
        grad[nHashed + D * K + 2]! += g2
      }
      step++
      const lr = o.learningRate * Math.sqrt(1 - b2 ** step) / (1 - b1 ** step)
      if (lazy) {
        for (let t = 0; t < nTouched; t++) {
          const bucket = touched[t]!
          mark[bucket] = 0
          for (let p = bucket * K; p < bucket * K + K; p++) {
            update(p, lr)
            grad[p] = 0
          }
        }
        for (let p = nHashed; p < params.length; p++) {
          update(p, lr)
          grad[p] = 0
        }
      } else {
        for (let i = 0; i < params.length; i++) update(i, lr)
      }
      yield
    }
  }
  return model
}

/** Train a model on already-featurized examples (featurize once, train many times in cross-validation). */
export function trainModel(examples: readonly TrainExample[], partial: Partial<TrainOptions> = {}): Model {
  return runSteps(trainSteps(examples, partial))
}

/**
 * `trainModel` that gives the event loop a turn every `sliceMs` of work (requests keep their latency while a
 * retrain runs in the gateway's thread) and stops with the signal's reason when it is aborted.
 */
export function trainModelAsync(examples: readonly TrainExample[], partial: Partial<TrainOptions> = {}, signal?: AbortSignal, sliceMs = 8): Promise<Model> {
  return runStepsAsync(trainSteps(examples, partial), createYielder(signal, sliceMs))
}
