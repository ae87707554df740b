/** Turns a request into the learned model's inputs: hashed word/char n-grams plus the shared dense features. */
import { type ChatRequest, lastUserIndex } from 'switchyard/plugin'
import { denseFeatures, extractFeatures } from '../heuristic-classifier/features.ts'
import type { RequestFeatures } from '../heuristic-classifier/features.ts'

/** How text becomes hashed features; stored with the weights so training and inference always agree. */
export interface FeatureSpec {
  /** log2 of the number of hash buckets. */
  readonly bits: number
  readonly wordNgrams: number
  readonly charMin: number
  readonly charMax: number
  /** Only the first this-many characters of each message feed n-grams (size features still see everything). */
  readonly maxChars: number
}

export const DEFAULT_FEATURE_SPEC: FeatureSpec = { bits: 15, wordNgrams: 2, charMin: 1, charMax: 0, maxChars: 1000 }

/** A sparse vector: bucket indices (may repeat) with values, plus the dense feature vector. */
export interface FeatureVector {
  readonly index: Int32Array
  readonly value: Float32Array
  readonly dense: readonly number[]
  readonly features: RequestFeatures
}

/** What the model reads of a feature vector (a recorded decision's `features` carries exactly these). */
export type Vector = Pick<FeatureVector, 'index' | 'value' | 'dense'>

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

const hashString = (s: string, seed = FNV_OFFSET) => {
  let h = seed
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME)
  return h >>> 0
}

/** Order-sensitive combination of two hashes (a word bigram). */
const mix = (a: number, b: number) => (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) ^ Math.imul(b, FNV_PRIME) ^ 0x9e3779b9) >>> 0

/**
 * A featurizer with its own scratch buckets, reused across calls so a request allocates almost nothing
 * (garbage collection pauses were what set the p99 latency). Not reentrant; classify is synchronous.
 */
export function createFeaturizer(spec: FeatureSpec = DEFAULT_FEATURE_SPEC): (req: Pick<ChatRequest, 'messages'>) => FeatureVector {
  const mask = (1 << spec.bits) - 1
  const acc = new Float64Array(1 << spec.bits)
  let touched = new Int32Array(4096)
  let nTouched = 0
  const add = (h: number, weight = 1) => {
    // One hash bit picks the sign so colliding features tend to cancel rather than add up.
    const signed = h & 0x80000000 ? -weight : weight
    const key = h & mask
    if (acc[key] === 0) {
      if (nTouched === touched.length) {
        const grown = new Int32Array(touched.length * 2)
        grown.set(touched)
        touched = grown
      }
      touched[nTouched++] = key
    }
    acc[key] = (acc[key] ?? 0) + signed
  }
  // Hashes that depend only on the spec: once here, not per message.
  const SYSTEM_SEED = hashString('s:')
  const START = hashString('<s>')
  const charSeeds: number[] = []
  for (let n = spec.charMin; n <= spec.charMax; n++) charSeeds.push(hashString(`c${n}`))
  return (req) => {
    nTouched = 0
    const features = extractFeatures(req)
    const lastUser = lastUserIndex(req)
    // Every turn is read: the last user message at full weight, the others at half; system text is tagged.
    req.messages.forEach(({ role, content: text }, i) => {
      const weight = i === lastUser || lastUser < 0 ? 1 : 0.5
      const lower = (text.length > spec.maxChars ? text.slice(0, spec.maxChars) : text).toLowerCase()
      // Tokens are hashed while scanning (no token strings): runs of [a-z0-9_] and single punctuation marks.
      const seed = role === 'system' ? SYSTEM_SEED : FNV_OFFSET
      let prev = START
      let h = seed
      let inWord = false
      const emit = (token: number) => {
        add(token, weight)
        if (spec.wordNgrams >= 2) add(mix(prev, token), weight)
        prev = token
      }
      for (let j = 0; j < lower.length; j++) {
        const ch = lower.charCodeAt(j)
        const wordChar = (ch >= 97 && ch <= 122) || (ch >= 48 && ch <= 57) || ch === 95
        if (wordChar) {
          h = Math.imul(h ^ ch, FNV_PRIME)
          inWord = true
          continue
        }
        if (inWord) emit(h >>> 0)
        inWord = false
        h = seed
        if (ch > 32) emit(Math.imul(seed ^ ch, FNV_PRIME) >>> 0)
      }
      if (inWord) emit(h >>> 0)
      if (spec.charMax < spec.charMin) return
      const squashed = ` ${lower.replace(/\s+/g, ' ')} `
      for (let n = spec.charMin; n <= spec.charMax; n++) {
        const seed = charSeeds[n - spec.charMin]!
        for (let j = 0; j + n <= squashed.length; j++) {
          let h = seed
          for (let k = j; k < j + n; k++) h = Math.imul(h ^ squashed.charCodeAt(k), FNV_PRIME)
          add(h >>> 0, weight * 0.5)
        }
      }
    })
    // Size bins give the linear model a non-linear view of length, the strongest single signal.
    add(hashString(`len:${Math.round(2 * Math.log2(features.promptTokens + 1))}`), 4)
    add(hashString(`depth:${Math.min(features.depth, 8)}`), 2)
    add(hashString(`code:${Math.min(features.codeBlocks, 4)}:${Math.round(features.codeShare * 4)}`), 2)

    const index = new Int32Array(nTouched)
    const value = new Float32Array(nTouched)
    let norm = 0
    for (let i = 0; i < nTouched; i++) {
      const k = touched[i]!
      const raw = acc[k] ?? 0
      acc[k] = 0
      // Sub-linear term frequency, then unit length: long prompts must not win on volume alone.
      const x = Math.sign(raw) * Math.log1p(Math.abs(raw))
      index[i] = k
      value[i] = x
      norm += x * x
    }
    norm = Math.sqrt(norm) || 1
    for (let j = 0; j < value.length; j++) value[j] = (value[j] ?? 0) / norm
    return { index, value, dense: denseFeatures(features), features }
  }
}
