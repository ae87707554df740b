/** Training for the learned classifier: seeded mini-batch Adam on softmax cross-entropy with L2. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'
import { DENSE_FEATURE_NAMES } from '../heuristic-classifier/features.ts'
import { DEFAULT_FEATURE_SPEC } from './featurize.ts'
import type { FeatureSpec, FeatureVector } from './featurize.ts'
import { modelLogits } from './model.ts'
import type { Model } from './model.ts'

export interface TrainExample {
  readonly fv: FeatureVector
  readonly label: TaskClass
}

export interface TrainOptions {
  readonly seed: number
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  readonly l2: number
  readonly spec: FeatureSpec
  readonly meta?: Readonly<Record<string, unknown>>
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 1, epochs: 12, batchSize: 32, learningRate: 0.05, l2: 1e-5, spec: DEFAULT_FEATURE_SPEC,
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

/** Train a model on already-featurized examples (featurize once, train many times in cross-validation). */
export function trainModel(examples: readonly TrainExample[], partial: Partial<TrainOptions> = {}): Model {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...partial }
  const K = TASK_CLASSES.length
  const D = DENSE_FEATURE_NAMES.length
  const nHashed = (1 << o.spec.bits) * K
  const params = new Float32Array(nHashed + D * K + K)
  const grad = new Float32Array(params.length)
  const m1 = new Float32Array(params.length)
  const m2 = new Float32Array(params.length)
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
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffleInPlace(order, random)
    for (let start = 0; start < order.length; start += o.batchSize) {
      grad.fill(0)
      const batch = order.slice(start, start + o.batchSize)
      for (const idx of batch) {
        const ex = examples[idx] as TrainExample
        const logits = modelLogits(model, ex.fv)
        const max = Math.max(...logits)
        const exps = logits.map((l) => Math.exp(l - max))
        const z = exps[0]! + exps[1]! + exps[2]!
        const y = TASK_CLASSES.indexOf(ex.label)
        for (let c = 0; c < K; c++) {
          const g = ((exps[c] ?? 0) / z - (c === y ? 1 : 0)) / batch.length
          for (let i = 0; i < ex.fv.index.length; i++) grad[(ex.fv.index[i] ?? 0) * K + c]! += g * (ex.fv.value[i] ?? 0)
          for (let i = 0; i < D; i++) grad[nHashed + i * K + c]! += g * (ex.fv.dense[i] ?? 0)
          grad[nHashed + D * K + c]! += g
        }
      }
      step++
      const lr = o.learningRate * Math.sqrt(1 - b2 ** step) / (1 - b1 ** step)
      for (let i = 0; i < params.length; i++) {
        const g = (grad[i] ?? 0) + o.l2 * (params[i] ?? 0)
        if (g === 0) continue
        m1[i] = b1 * (m1[i] ?? 0) + (1 - b1) * g
        m2[i] = b2 * (m2[i] ?? 0) + (1 - b2) * g * g
        params[i]! -= (lr * (m1[i] ?? 0)) / (Math.sqrt(m2[i] ?? 0) + 1e-8)
      }
    }
  }
  return model
}
