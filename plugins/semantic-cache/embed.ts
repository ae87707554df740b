/** Embeds one text through a gateway backend: Ollama's /api/embed or an OpenAI-compatible /v1/embeddings. */
import * as v from 'valibot'
import type { BackendKind } from 'switchyard/plugin'

const OllamaEmbed = v.object({ embeddings: v.array(v.array(v.number())) })
const OpenAIEmbed = v.object({ data: v.array(v.object({ embedding: v.array(v.number()) })) })

export interface EmbedTarget {
  readonly kind: BackendKind
  /** Base url without a trailing slash. */
  readonly url: string
  readonly model: string
  /** The backend's configured headers (an API key), sent with every embedding request. */
  readonly headers?: Readonly<Record<string, string>>
}

/** A unit-length vector for `text`, so a dot product is the cosine similarity. */
export async function embedText(target: EmbedTarget, text: string, signal: AbortSignal): Promise<Float32Array> {
  const path = target.kind === 'ollama' ? '/api/embed' : '/v1/embeddings'
  const res = await fetch(`${target.url}${path}`, {
    method: 'POST', headers: { ...target.headers, 'content-type': 'application/json' }, body: JSON.stringify({ model: target.model, input: text }), signal,
  })
  if (!res.ok) throw new Error(`embedding backend answered ${res.status}`)
  const json: unknown = await res.json()
  const vector = target.kind === 'ollama' ? v.parse(OllamaEmbed, json).embeddings[0] : v.parse(OpenAIEmbed, json).data[0]?.embedding
  if (!vector || vector.length === 0) throw new Error('embedding backend returned no vector')
  let norm = 0
  for (const x of vector) norm += x * x
  norm = Math.sqrt(norm) || 1
  return Float32Array.from(vector, (x) => x / norm)
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) dot += (a[i] as number) * (b[i] as number)
  return dot
}
