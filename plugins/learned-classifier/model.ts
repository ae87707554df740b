/** The learned model: multinomial logistic regression weights, inference, and the compact weights-file format. */
import * as v from 'valibot'
import { TASK_CLASSES } from 'switchyard/plugin'
import { DENSE_FEATURE_NAMES } from '../heuristic-classifier/features.ts'
import { DEFAULT_FEATURE_SPEC, FEATURE_FAMILIES } from './featurize.ts'
import type { FeatureSpec, Vector } from './featurize.ts'

export interface Model {
  readonly spec: FeatureSpec
  /** Hashed-feature weights, class-major within a bucket: `weights[bucket * 3 + class]`. */
  readonly weights: Float32Array
  /** Dense-feature weights: `dense[feature * 3 + class]`. */
  readonly dense: Float32Array
  readonly bias: Float32Array
  readonly meta: Readonly<Record<string, unknown>>
}

const CLASSES = TASK_CLASSES.length

/** Class logits for one featurized request, in TASK_CLASSES order. */
export function modelLogits(model: Model, fv: Vector): [number, number, number] {
  const out: [number, number, number] = [model.bias[0] ?? 0, model.bias[1] ?? 0, model.bias[2] ?? 0]
  const { weights, dense } = model
  for (let i = 0; i < fv.index.length; i++) {
    const x = fv.value[i] ?? 0
    const base = (fv.index[i] ?? 0) * CLASSES
    out[0] += x * (weights[base] ?? 0)
    out[1] += x * (weights[base + 1] ?? 0)
    out[2] += x * (weights[base + 2] ?? 0)
  }
  for (let i = 0; i < fv.dense.length; i++) {
    const x = fv.dense[i] ?? 0
    out[0] += x * (dense[i * CLASSES] ?? 0)
    out[1] += x * (dense[i * CLASSES + 1] ?? 0)
    out[2] += x * (dense[i * CLASSES + 2] ?? 0)
  }
  return out
}

/** The weights file: hashed weights as base64 little-endian int16 with one scale, the rest as plain numbers. */
export const WeightsFile = v.strictObject({
  format: v.literal('switchyard-logreg-v1'),
  classes: v.tuple([v.literal('SIMPLE'), v.literal('MODERATE'), v.literal('COMPLEX')]),
  spec: v.strictObject({
    bits: v.pipe(v.number(), v.integer(), v.minValue(8), v.maxValue(22)),
    wordNgrams: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2)),
    charMin: v.pipe(v.number(), v.integer(), v.minValue(1)),
    charMax: v.pipe(v.number(), v.integer(), v.minValue(0)),
    maxChars: v.pipe(v.number(), v.integer(), v.minValue(1)),
    // Optional only so that a file written before the cap still parses and gets decodeModel's message, not a schema one.
    maxMessages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), DEFAULT_FEATURE_SPEC.maxMessages),
    maxTotalChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), DEFAULT_FEATURE_SPEC.maxTotalChars),
    off: v.optional(v.array(v.picklist(FEATURE_FAMILIES))),
  }),
  denseFeatures: v.array(v.string()),
  scale: v.number(),
  weights: v.string(),
  dense: v.array(v.number()),
  bias: v.array(v.number()),
  meta: v.record(v.string(), v.unknown()),
})
export type WeightsFile = v.InferOutput<typeof WeightsFile>

const round4 = (x: number) => Math.round(x * 1e4) / 1e4

export function encodeModel(model: Model): WeightsFile {
  let max = 0
  for (const w of model.weights) max = Math.max(max, Math.abs(w))
  const scale = max / 32767 || 1
  const q = new Int16Array(model.weights.length)
  for (let i = 0; i < q.length; i++) q[i] = Math.round((model.weights[i] ?? 0) / scale)
  const { off, ...spec } = model.spec
  return {
    format: 'switchyard-logreg-v1',
    classes: ['SIMPLE', 'MODERATE', 'COMPLEX'],
    spec: { ...spec, ...(off && { off: [...off] }) },
    denseFeatures: [...DENSE_FEATURE_NAMES],
    scale,
    weights: Buffer.from(q.buffer, q.byteOffset, q.byteLength).toString('base64'),
    dense: Array.from(model.dense, round4),
    bias: Array.from(model.bias, round4),
    meta: { ...model.meta },
  }
}

/**
 * Validate and decode a weights file; throws with the offending path when it is not one, and says so when it was
 * trained for other dense features (a file from before the conversation features: retrain it).
 */
export function decodeModel(json: unknown): Model {
  const file = v.parse(WeightsFile, json)
  const names: readonly string[] = DENSE_FEATURE_NAMES
  if (file.denseFeatures.length !== names.length || file.denseFeatures.some((n, i) => n !== names[i])) {
    const added = names.filter((n) => !file.denseFeatures.includes(n))
    const dropped = file.denseFeatures.filter((n) => !names.includes(n))
    const diff = [added.length > 0 && `lacks ${added.join(', ')}`, dropped.length > 0 && `has ${dropped.join(', ')}`].filter(Boolean).join('; ')
    throw new Error(`weights: trained for ${file.denseFeatures.length} dense features, this version computes ${names.length} (${diff || 'in another order'}); `
      + 'the file predates these features: retrain it (bun scripts/train.ts)')
  }
  const bytes = Buffer.from(file.weights, 'base64')
  const q = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
  if (q.length !== (1 << file.spec.bits) * CLASSES) throw new Error(`weights: expected ${(1 << file.spec.bits) * CLASSES} values, got ${q.length}`)
  if (file.dense.length !== DENSE_FEATURE_NAMES.length * CLASSES) throw new Error(`weights: expected ${DENSE_FEATURE_NAMES.length * CLASSES} dense weights, got ${file.dense.length}`)
  const weights = new Float32Array(q.length)
  for (let i = 0; i < q.length; i++) weights[i] = (q[i] ?? 0) * file.scale
  return { spec: file.spec, weights, dense: Float32Array.from(file.dense), bias: Float32Array.from(file.bias), meta: file.meta }
}
