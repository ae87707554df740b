/** Embedding routes for both protocols: `/api/embed`, legacy `/api/embeddings` and `/v1/embeddings`. */
import * as v from 'valibot'
import { loadModel, toNs, type GenerationHandler, type SimContext } from './engine.ts'
import { countTokens, embedText, encodeEmbeddingBase64, EMBEDDING_DIMENSIONS } from './generate.ts'
import { createModelLatency, type ModelLatency } from './latency.ts'
import { parseKeepAlive, type ModelSpec } from './models.ts'
import { ollamaError, ollamaModelNotFound } from './ollama.ts'
import { openaiError, openaiModelNotFound } from './openai.ts'
import { KeepAlive, parseBody } from './request-body.ts'
import type { RequestScope } from './stats.ts'
import { jsonResponse } from './stream.ts'

const Input = v.nullish(v.union([v.string(), v.array(v.string())], 'invalid input type'))
const Dimensions = v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8192)))

const EmbedBody = v.looseObject({ model: v.string(), input: Input, dimensions: Dimensions, keep_alive: KeepAlive })
const LegacyBody = v.looseObject({ model: v.string(), prompt: v.nullish(v.string()), keep_alive: KeepAlive })
const OpenAIBody = v.looseObject({
  model: v.string(),
  input: v.union([v.string(), v.array(v.string())], 'input must be a string or an array of strings'),
  encoding_format: v.nullish(v.picklist(['float', 'base64'])),
  dimensions: Dimensions,
})

interface Embedded {
  readonly vectors: number[][]
  readonly promptTokens: number
  readonly loadMs: number
  readonly totalMs: number
}

/** Every model can embed; batches cost a little per input on top of any cold start. */
async function embedAll(ctx: SimContext, scope: RequestScope, spec: ModelSpec, inputs: readonly string[], options: {
  dimensions: number | null | undefined
  keepAliveMs: number | undefined
}): Promise<Embedded> {
  const latency: ModelLatency = createModelLatency(spec)
  const loadMs = await loadModel(ctx, scope, spec, options.keepAliveMs)
  const promptTokens = inputs.reduce((sum, text) => sum + countTokens(text), 0)
  const workMs = inputs.length === 0 ? 0 : latency.promptMs(promptTokens)
  await ctx.clock.wait(workMs, scope.signal)
  const vectors = inputs.map((text) => embedText(text, options.dimensions ?? EMBEDDING_DIMENSIONS))
  scope.finish()
  return { vectors, promptTokens, loadMs, totalMs: loadMs + workMs }
}

export const handleOllamaEmbed: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(EmbedBody, body)
  if (!parsed.ok) return ollamaError(400, parsed.message)
  const request = parsed.value
  const spec = ctx.catalog.find(request.model)
  if (!spec) return ollamaModelNotFound(request.model)
  const inputs = request.input === undefined || request.input === null ? [] : typeof request.input === 'string' ? [request.input] : request.input
  const embedded = await embedAll(ctx, scope, spec, inputs, {
    dimensions: request.dimensions,
    keepAliveMs: parseKeepAlive(request.keep_alive),
  })
  return jsonResponse({
    model: request.model,
    embeddings: embedded.vectors,
    total_duration: toNs(embedded.totalMs),
    load_duration: toNs(embedded.loadMs),
    prompt_eval_count: embedded.promptTokens,
  })
}

export const handleOllamaEmbeddings: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(LegacyBody, body)
  if (!parsed.ok) return ollamaError(400, parsed.message)
  const request = parsed.value
  const spec = ctx.catalog.find(request.model)
  if (!spec) return ollamaModelNotFound(request.model)
  const inputs = request.prompt ? [request.prompt] : []
  const embedded = await embedAll(ctx, scope, spec, inputs, { dimensions: undefined, keepAliveMs: parseKeepAlive(request.keep_alive) })
  return jsonResponse({ embedding: embedded.vectors[0] ?? [] })
}

export const handleOpenAIEmbeddings: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(OpenAIBody, body)
  if (!parsed.ok) return openaiError(400, parsed.message)
  const request = parsed.value
  const spec = ctx.catalog.find(request.model)
  if (!spec) return openaiModelNotFound(request.model)
  const inputs = typeof request.input === 'string' ? [request.input] : request.input
  if (inputs.length === 0) return openaiError(400, 'invalid input')
  const embedded = await embedAll(ctx, scope, spec, inputs, { dimensions: request.dimensions, keepAliveMs: undefined })
  const base64 = request.encoding_format === 'base64'
  return jsonResponse({
    object: 'list',
    data: embedded.vectors.map((vector, index) => ({
      object: 'embedding',
      embedding: base64 ? encodeEmbeddingBase64(vector) : vector,
      index,
    })),
    model: request.model,
    usage: { prompt_tokens: embedded.promptTokens, total_tokens: embedded.promptTokens },
  })
}
