/** For plugins that need embeddings: call a backend's /api/embed (Ollama) or /v1/embeddings (OpenAI) and compare vectors. */
import * as v from 'valibot'
import { type BackendTarget, postJson } from './backend-target.ts'

/** A backend that serves the embedding model (see `backendTarget`). */
export type EmbedTarget = BackendTarget

const OllamaEmbed = v.object({ embeddings: v.array(v.array(v.number())) })
const OpenAIEmbed = v.object({ data: v.array(v.object({ embedding: v.array(v.number()), index: v.optional(v.number()) })) })

/** Embed `input` texts with `model`: one unit-length vector per text, in input order (a dot product is the cosine). */
export async function embedTexts(target: EmbedTarget, model: string, input: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
  const json = await postJson(target, target.kind === 'ollama' ? '/api/embed' : '/v1/embeddings', { model, input }, signal)
  const vectors =
    target.kind === 'ollama'
      ? v.parse(OllamaEmbed, json).embeddings
      : [...v.parse(OpenAIEmbed, json).data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding)
  if (vectors.length !== input.length) throw new Error(`embedding backend returned ${vectors.length} vectors for ${input.length} inputs`)
  if (vectors.some((vec) => vec.length === 0)) throw new Error('embedding backend returned an empty vector')
  return vectors.map(normalize)
}

function normalize(vec: readonly number[]): Float32Array {
  let norm = 0
  for (const x of vec) norm += x * x
  norm = Math.sqrt(norm) || 1
  return Float32Array.from(vec, (x) => x / norm)
}

/** Cosine similarity of two unit-length vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) dot += (a[i] ?? 0) * (b[i] ?? 0)
  return dot
}
