/** Embedding calls for Ollama (/api/embed) and OpenAI-compatible (/v1/embeddings) backends. */
import * as v from 'valibot'
import type { Endpoint } from './endpoint.ts'
import { postJson } from './endpoint.ts'

const OllamaEmbed = v.object({ embeddings: v.array(v.array(v.number())) })
const OpenAIEmbed = v.object({ data: v.array(v.object({ embedding: v.array(v.number()), index: v.number() })) })

/** Embed `input` texts with `model`; returns one unit-length vector per text, in input order. */
export async function embedTexts(endpoint: Endpoint, model: string, input: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
  let vectors: number[][]
  if (endpoint.kind === 'ollama') {
    vectors = v.parse(OllamaEmbed, await postJson(`${endpoint.url}/api/embed`, { model, input }, signal)).embeddings
  } else {
    const out = v.parse(OpenAIEmbed, await postJson(`${endpoint.url}/v1/embeddings`, { model, input }, signal))
    vectors = [...out.data].sort((a, b) => a.index - b.index).map((d) => d.embedding)
  }
  if (vectors.length !== input.length) throw new Error(`embedding backend returned ${vectors.length} vectors for ${input.length} inputs`)
  return vectors.map(normalize)
}

function normalize(vec: readonly number[]): Float32Array {
  let norm = 0
  for (const x of vec) norm += x * x
  norm = Math.sqrt(norm) || 1
  return Float32Array.from(vec, (x) => x / norm)
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) dot += (a[i] ?? 0) * (b[i] ?? 0)
  return dot
}
