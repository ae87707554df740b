/** Deterministic stand-ins for model output: prompt-seeded text, token counts and trigram-hashed embeddings. */

export const DEFAULT_OUTPUT_TOKENS = 24
export const EMBEDDING_DIMENSIONS = 64

const WORDS = [
  'function', 'returns', 'the', 'value', 'of', 'a', 'list', 'and', 'then', 'we', 'call', 'it', 'with',
  'each', 'item', 'in', 'order', 'to', 'build', 'result', 'string', 'number', 'array', 'map', 'key',
  'index', 'loop', 'over', 'input', 'output', 'check', 'if', 'empty', 'else', 'throw', 'error', 'when',
  'type', 'is', 'invalid', 'use', 'const', 'for', 'this', 'test', 'case', 'async', 'await', 'promise',
  'handler', 'request', 'response', 'stream', 'buffer', 'parse', 'JSON', 'line', 'by', 'simple', 'fast',
  'cache', 'model', 'router', 'here',
] as const

/** FNV-1a, 32-bit: tiny, stable and good enough to seed text and spread embedding features. */
export function hashText(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/** xorshift32 step: the next pseudo-random word index from the previous state. */
function nextState(state: number): number {
  let x = state || 0x9e3779b9
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  return x >>> 0
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length
}

/** About one token per 0.75 words, as rough tokenizers go; never zero for a non-empty prompt. */
export function countTokens(text: string): number {
  const words = wordCount(text)
  return words === 0 ? (text.length > 0 ? 1 : 0) : Math.ceil(words / 0.75)
}

export interface Completion {
  /** One entry per token, each a chunk to stream: the first is bare, later ones start with a space. */
  readonly pieces: readonly string[]
  readonly doneReason: 'stop' | 'length'
}

/**
 * The answer `model` gives to `prompt`: it names the model, then hash-seeded words, ending with a
 * period. `limit` (num_predict / max_tokens) cuts it short; negative means no limit. `json` answers
 * as a JSON object, for `format` / `response_format` requests.
 */
export function generateCompletion(model: string, prompt: string, limit: number | undefined, naturalTokens: number, json = false): Completion {
  const natural = Math.max(1, naturalTokens)
  const cut = limit !== undefined && limit >= 0 && limit < natural
  const count = cut ? limit : natural
  const pieces: string[] = []
  let state = hashText(`${model}\n${prompt}`)
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      pieces.push(`[${model}]`)
      continue
    }
    state = nextState(state)
    const word = WORDS[state % WORDS.length] ?? 'token'
    pieces.push(i === natural - 1 ? ` ${word}.` : ` ${word}`)
  }
  if (json) wrapAsJson(pieces, !cut)
  return { pieces, doneReason: cut ? 'length' : 'stop' }
}

/** Structured-output requests get `{"answer": "..."}`; a cut-short answer stays truncated JSON, as a model's would. */
export function wrapAsJson(pieces: string[], complete: boolean): void {
  for (let i = 0; i < pieces.length; i++) pieces[i] = JSON.stringify(pieces[i]).slice(1, -1)
  if (pieces.length === 0) return
  pieces[0] = `{"answer": "${pieces[0]}`
  if (complete) pieces[pieces.length - 1] += '"}'
}

function features(text: string): Map<string, number> {
  const weights = new Map<string, number>()
  const add = (feature: string, weight: number) => weights.set(feature, (weights.get(feature) ?? 0) + weight)
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []
  for (const word of words) {
    add(`w:${word}`, 1)
    const padded = `^${word}$`
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.5)
  }
  return weights
}

/**
 * A unit vector for `text` by signed feature hashing of its words and character trigrams:
 * identical text gives identical vectors, shared wording gives high cosine similarity.
 */
export function embedText(text: string, dimensions = EMBEDDING_DIMENSIONS): number[] {
  const size = Math.max(1, Math.floor(dimensions))
  const vector = new Array<number>(size).fill(0)
  for (const [feature, weight] of features(text)) {
    // Two slots per feature soften collisions in so few dimensions.
    for (const seed of [0x811c9dc5, 0x01000193]) {
      const hash = hashText(feature, seed)
      const slot = hash % size
      vector[slot] = (vector[slot] ?? 0) + (hash & 0x80000000 ? -weight : weight)
    }
  }
  const norm = Math.hypot(...vector)
  if (norm === 0) {
    vector[0] = 1
    return vector
  }
  return vector.map((x) => x / norm)
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0
  let normA = 0
  let normB = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    dot += x * y
    normA += x * x
    normB += y * y
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB)
}

/** OpenAI's `encoding_format: 'base64'`: little-endian float32 bytes, base64-encoded. */
export function encodeEmbeddingBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64')
}
