/** Turns a request into the learned model's inputs: hashed word/char n-grams plus the shared dense features. */
import { type ChatRequest, lastUserIndex } from 'switchyard/plugin'
import { DENSE_FEATURE_NAMES, denseFeatures, extractFeatures, windowMessages } from '../heuristic-classifier/features.ts'
import type { RequestFeatures } from '../heuristic-classifier/features.ts'

/**
 * What a feature family adds beyond the last message's words and size (each can be turned off for an ablation):
 * `turns` the earlier turns (their n-grams at half weight, their size and intent, the depth; off = the request is cut
 * to its system prompt and last user message), `system` the system prompt (its n-grams, size and presence), `code`
 * fenced code's languages (```python) and line count, `unfenced` the language guess for unfenced code, `files` the
 * distinct file paths and their extensions, `tools` the number of tool definitions.
 */
export const FEATURE_FAMILIES = ['turns', 'system', 'code', 'unfenced', 'files', 'tools'] as const
export type FeatureFamily = (typeof FEATURE_FAMILIES)[number]

/** Dense features a family owns beyond what cutting the request removes, zeroed when it is off (`code` off zeroes the language count, guessed languages included). */
const FAMILY_DENSE: Readonly<Partial<Record<FeatureFamily, readonly (typeof DENSE_FEATURE_NAMES)[number][]>>> = {
  code: ['code-languages', 'code-lines'],
  files: ['file-paths'],
}

/** How text becomes hashed features; stored with the weights so training and inference always agree. */
export interface FeatureSpec {
  /** log2 of the number of hash buckets. */
  readonly bits: number
  readonly wordNgrams: number
  readonly charMin: number
  readonly charMax: number
  /** Only the first this-many characters of each message feed n-grams (size features still see everything). */
  readonly maxChars: number
  /**
   * The cap: n-grams (and every text scan) read only the system prompt, the first user message and the last this-many
   * messages (`windowMessages`), ...
   */
  readonly maxMessages: number
  /** ... and at most this many characters of them in all, the last user message first. */
  readonly maxTotalChars: number
  /** Feature families turned off (ablations); absent in the shipped spec. */
  readonly off?: readonly FeatureFamily[]
}

export const DEFAULT_FEATURE_SPEC: FeatureSpec = { bits: 15, wordNgrams: 2, charMin: 1, charMax: 0, maxChars: 1000, maxMessages: 8, maxTotalChars: 4000 }

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
export function createFeaturizer(spec: FeatureSpec = DEFAULT_FEATURE_SPEC): (req: Pick<ChatRequest, 'messages' | 'tools'>) => FeatureVector {
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
  const LANG_SEED = hashString('lang:')
  const EXT_SEED = hashString('ext:')
  const charSeeds: number[] = []
  for (let n = spec.charMin; n <= spec.charMax; n++) charSeeds.push(hashString(`c${n}`))
  const off = new Set(spec.off ?? [])
  const limits = { maxMessages: spec.maxMessages, guessUnfenced: !off.has('unfenced') }
  const zeroed = [...off].flatMap((f) => FAMILY_DENSE[f] ?? []).map((name) => DENSE_FEATURE_NAMES.indexOf(name))

  /** Hash one message's first `chars` characters into the buckets. */
  const hashMessage = (role: string, content: string, chars: number, weight: number) => {
    const lower = (content.length > chars ? content.slice(0, chars) : content).toLowerCase()
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
  }

  return (input) => {
    nTouched = 0
    const req = off.size === 0 ? input : ablate(input, off)
    const features = extractFeatures(req, limits)
    const { messages } = req
    const lastUser = lastUserIndex(req)
    const at = lastUser >= 0 ? lastUser : messages.length - 1
    // The cap: the window's messages, most important first, share one character budget; hashed in conversation order.
    const window = windowMessages(messages, at, spec.maxMessages)
    let left = spec.maxTotalChars
    const taken: [index: number, chars: number][] = []
    for (const i of window) {
      if (left <= 0) break
      const n = Math.min(messages[i]!.content.length, spec.maxChars, left)
      taken.push([i, n])
      left -= n
    }
    taken.sort((a, b) => a[0] - b[0])
    for (const [i, n] of taken) {
      const { role, content } = messages[i]!
      // The last user message at full weight, the other turns at half; system text is tagged.
      hashMessage(role, content, n, i === lastUser || lastUser < 0 ? 1 : 0.5)
    }
    // Size bins give the linear model a non-linear view of length, the strongest single signal.
    add(hashString(`len:${Math.round(2 * Math.log2(features.promptTokens + 1))}`), 4)
    add(hashString(`depth:${Math.min(features.depth, 8)}`), 2)
    add(hashString(`code:${Math.min(features.codeBlocks, 4)}:${Math.round(features.codeShare * 4)}`), 2)
    if (features.contextTokens > 0) add(hashString(`ctx:${Math.round(Math.log2(features.contextTokens + 1))}`), 2)
    if (features.tools > 0) add(hashString(`tools:${Math.min(features.tools, 8)}`), 2)
    if (!off.has('code')) for (const lang of features.languages) add(hashString(lang, LANG_SEED), 2)
    for (const lang of features.unfencedLanguages) add(hashString(lang, LANG_SEED), 2)
    if (!off.has('files')) for (const ext of features.fileExtensions) add(hashString(ext, EXT_SEED), 1)

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
    const dense = denseFeatures(features)
    for (const k of zeroed) dense[k] = 0
    return { index, value, dense, features }
  }
}

/** The request as a featurizer with families off sees it: `turns` off keeps the system prompt and last user message. */
function ablate(req: Pick<ChatRequest, 'messages' | 'tools'>, off: ReadonlySet<FeatureFamily>): Pick<ChatRequest, 'messages' | 'tools'> {
  const lastUser = lastUserIndex(req)
  const messages = req.messages.filter((m, i) =>
    m.role === 'system' ? !off.has('system') : !off.has('turns') || i === lastUser || (lastUser < 0 && i === req.messages.length - 1))
  return { messages, tools: off.has('tools') ? undefined : req.tools }
}
