/** Ollama's generation routes, `/api/chat` and `/api/generate`: NDJSON streams by default, preload and unload. */
import * as v from 'valibot'
import { chatPrompt, collectRun, lastUserText, loadModel, startRun, type GenerationHandler, type Run, type RunStats, type SimContext } from './engine.ts'
import { parseKeepAlive, type ModelSpec } from './models.ts'
import { KeepAlive, parseBody, TokenLimit } from './request-body.ts'
import type { RequestScope } from './stats.ts'
import { createFrameStream, jsonResponse, ndjsonResponse } from './stream.ts'

const Options = v.nullish(v.looseObject({ num_predict: TokenLimit }))
/** `"json"` or a JSON schema object; anything set means structured output. */
const Format = v.nullish(v.union([v.string(), v.record(v.string(), v.unknown())]))

const ChatBody = v.looseObject({
  model: v.string(),
  messages: v.nullish(v.array(v.looseObject({ role: v.string(), content: v.nullish(v.string()) }))),
  stream: v.nullish(v.boolean()),
  options: Options,
  keep_alive: KeepAlive,
  format: Format,
})

const GenerateBody = v.looseObject({
  model: v.string(),
  prompt: v.nullish(v.string()),
  system: v.nullish(v.string()),
  stream: v.nullish(v.boolean()),
  options: Options,
  keep_alive: KeepAlive,
  format: Format,
})

export function ollamaError(status: number, message: string): Response {
  return jsonResponse({ error: message }, status)
}

export function ollamaModelNotFound(model: string): Response {
  return ollamaError(404, `model '${model}' not found`)
}

type Lookup = { ok: true; spec: ModelSpec } | { ok: false; response: Response }

/** Finds the model and checks it can generate, answering as Ollama does when it cannot. */
function lookupGenerative(ctx: SimContext, model: string, route: 'chat' | 'generate'): Lookup {
  const spec = ctx.catalog.find(model)
  if (!spec) return { ok: false, response: ollamaModelNotFound(model) }
  if (spec.embeddingOnly) return { ok: false, response: ollamaError(400, `"${model}" does not support ${route}`) }
  return { ok: true, spec }
}

/** Empty prompt: load the model (or unload it with `keep_alive: 0`) and say which, in one object. */
async function preload(
  ctx: SimContext,
  scope: RequestScope,
  spec: ModelSpec,
  keepAliveMs: number | undefined,
  shape: (done: { done_reason: 'load' | 'unload' }) => Record<string, unknown>,
): Promise<Response> {
  if (keepAliveMs === 0) {
    ctx.runtime.unload(spec)
    scope.finish()
    return jsonResponse(shape({ done_reason: 'unload' }))
  }
  await loadModel(ctx, scope, spec, keepAliveMs)
  scope.finish()
  return jsonResponse(shape({ done_reason: 'load' }))
}

/** Streams `frame(piece)` per token then `final(stats)`, one JSON object per line. */
function streamRun(
  run: Run,
  scope: RequestScope,
  frame: (piece: string) => Record<string, unknown>,
  final: (stats: RunStats) => Record<string, unknown>,
): Response {
  async function* frames() {
    for await (const piece of run.tokens()) yield `${JSON.stringify(frame(piece))}\n`
    yield `${JSON.stringify(final(run.complete()))}\n`
  }
  return ndjsonResponse(createFrameStream(frames(), scope), run.headers)
}

const createdAt = () => new Date().toISOString()

export const handleOllamaChat: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(ChatBody, body)
  if (!parsed.ok) return ollamaError(400, parsed.message)
  const request = parsed.value
  const found = lookupGenerative(ctx, request.model, 'chat')
  if (!found.ok) return found.response
  const keepAliveMs = parseKeepAlive(request.keep_alive)
  const messages = request.messages ?? []
  const head = (content: string) => ({ model: request.model, created_at: createdAt(), message: { role: 'assistant', content } })
  if (messages.length === 0) {
    return preload(ctx, scope, found.spec, keepAliveMs, (done) => ({ ...head(''), ...done, done: true }))
  }
  const run = await startRun(ctx, scope, {
    spec: found.spec,
    prompt: chatPrompt(messages),
    ask: lastUserText(messages),
    limit: request.options?.num_predict ?? undefined,
    keepAliveMs,
    json: Boolean(request.format),
  })
  if (request.stream === false) {
    const { text, stats } = await collectRun(run)
    return jsonResponse({ ...head(text), done_reason: run.doneReason, done: true, ...stats }, 200, run.headers)
  }
  return streamRun(
    run,
    scope,
    (piece) => ({ ...head(piece), done: false }),
    (stats) => ({ ...head(''), done: true, done_reason: run.doneReason, ...stats }),
  )
}

/** Generate's final chunk carries `context`: stand-in token ids for the whole exchange. */
function contextIds(run: Run): number[] {
  const length = Math.min(run.promptTokens + run.pieces.length, 256)
  return Array.from({ length }, (_, i) => 1000 + ((i * 7919 + run.pieces.length) % 30_000))
}

export const handleOllamaGenerate: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(GenerateBody, body)
  if (!parsed.ok) return ollamaError(400, parsed.message)
  const request = parsed.value
  const found = lookupGenerative(ctx, request.model, 'generate')
  if (!found.ok) return found.response
  const keepAliveMs = parseKeepAlive(request.keep_alive)
  const head = (response: string) => ({ model: request.model, created_at: createdAt(), response })
  if (!request.prompt) {
    return preload(ctx, scope, found.spec, keepAliveMs, (done) => ({ ...head(''), done: true, ...done }))
  }
  const run = await startRun(ctx, scope, {
    spec: found.spec,
    prompt: request.system ? `${request.system}\n${request.prompt}` : request.prompt,
    ask: request.prompt,
    limit: request.options?.num_predict ?? undefined,
    keepAliveMs,
    json: Boolean(request.format),
  })
  if (request.stream === false) {
    const { text, stats } = await collectRun(run)
    return jsonResponse({ ...head(text), done: true, done_reason: run.doneReason, context: contextIds(run), ...stats }, 200, run.headers)
  }
  return streamRun(
    run,
    scope,
    (piece) => ({ ...head(piece), done: false }),
    (stats) => ({ ...head(''), done: true, done_reason: run.doneReason, context: contextIds(run), ...stats }),
  )
}
