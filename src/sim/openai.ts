/** OpenAI-compatible routes as Ollama serves them under `/v1`: chat, completions, models; SSE when asked. */
import * as v from 'valibot'
import { chatPrompt, collectRun, contentText, lastUserText, startRun, type GenerationHandler, type Run, type SimContext } from './engine.ts'
import type { ModelSpec } from './models.ts'
import { parseBody, TokenLimit } from './request-body.ts'
import type { RequestScope } from './stats.ts'
import { createFrameStream, jsonResponse, sseResponse } from './stream.ts'

const SYSTEM_FINGERPRINT = 'fp_ollama'

const StreamOptions = v.nullish(v.looseObject({ include_usage: v.nullish(v.boolean()) }))

const ChatBody = v.looseObject({
  model: v.string(),
  messages: v.pipe(
    v.array(v.looseObject({ role: v.string(), content: v.nullish(v.unknown()) }), 'messages is required'),
    v.minLength(1, "[] is too short - 'messages'"),
  ),
  stream: v.nullish(v.boolean()),
  stream_options: StreamOptions,
  max_tokens: TokenLimit,
  max_completion_tokens: TokenLimit,
  response_format: v.nullish(v.looseObject({ type: v.string() })),
})

const CompletionBody = v.looseObject({
  model: v.string(),
  prompt: v.union([v.string(), v.array(v.string())], 'prompt must be a string'),
  stream: v.nullish(v.boolean()),
  stream_options: StreamOptions,
  max_tokens: TokenLimit,
})

type ErrorType = 'invalid_request_error' | 'not_found_error' | 'api_error'

export function openaiError(status: number, message: string): Response {
  const type: ErrorType = status === 404 ? 'not_found_error' : status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error'
  return jsonResponse({ error: { message, type, param: null, code: null } }, status)
}

export function openaiModelNotFound(model: string): Response {
  return openaiError(404, `model '${model}' not found`)
}

function modelObject(spec: ModelSpec) {
  const slash = spec.name.indexOf('/')
  return {
    id: spec.name,
    object: 'model',
    created: Math.floor(Date.parse(spec.modifiedAt) / 1000),
    owned_by: slash > 0 ? spec.name.slice(0, slash) : 'library',
  }
}

export function handleListModels(ctx: SimContext): Response {
  return jsonResponse({ object: 'list', data: ctx.catalog.models.map(modelObject) })
}

export function handleGetModel(ctx: SimContext, id: string): Response {
  const spec = ctx.catalog.find(id)
  return spec ? jsonResponse(modelObject(spec)) : openaiModelNotFound(id)
}

function usage(run: Run) {
  return { prompt_tokens: run.promptTokens, completion_tokens: run.pieces.length, total_tokens: run.promptTokens + run.pieces.length }
}

interface Envelope {
  readonly id: string
  readonly object: string
  readonly created: number
  readonly model: string
}

/** Streams the SSE events: an optional opening chunk, one per token, the finish chunk, usage, `[DONE]`. */
function streamRun(
  run: Run,
  scope: RequestScope,
  envelope: Envelope,
  includeUsage: boolean,
  choice: { opening?: Record<string, unknown>; piece(text: string): Record<string, unknown>; finish: Record<string, unknown> },
): Response {
  const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ ...envelope, system_fingerprint: SYSTEM_FINGERPRINT, choices, ...extra })}\n\n`
  async function* frames() {
    if (choice.opening) yield event([{ index: 0, ...choice.opening, finish_reason: null }])
    for await (const piece of run.tokens()) yield event([{ index: 0, ...choice.piece(piece), finish_reason: null }])
    run.complete()
    yield event([{ index: 0, ...choice.finish, finish_reason: run.doneReason }])
    if (includeUsage) yield event([], { usage: usage(run) })
    yield 'data: [DONE]\n\n'
  }
  return sseResponse(createFrameStream(frames(), scope), run.headers)
}

function lookup(ctx: SimContext, model: string): ModelSpec | Response {
  const spec = ctx.catalog.find(model)
  if (!spec) return openaiModelNotFound(model)
  if (spec.embeddingOnly) return openaiError(400, `"${model}" does not support chat`)
  return spec
}

export const handleChatCompletions: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(ChatBody, body)
  if (!parsed.ok) return openaiError(400, parsed.message)
  const request = parsed.value
  const spec = lookup(ctx, request.model)
  if (spec instanceof Response) return spec
  const run = await startRun(ctx, scope, {
    spec,
    prompt: chatPrompt(request.messages),
    ask: lastUserText(request.messages),
    limit: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    keepAliveMs: undefined,
    json: request.response_format?.type === 'json_object' || request.response_format?.type === 'json_schema',
  })
  const envelope = { id: `chatcmpl-${ctx.nextId()}`, created: Math.floor(run.createdAt.getTime() / 1000), model: request.model }
  if (request.stream === true) {
    return streamRun(run, scope, { ...envelope, object: 'chat.completion.chunk' }, request.stream_options?.include_usage === true, {
      opening: { delta: { role: 'assistant', content: '' } },
      piece: (content) => ({ delta: { content } }),
      finish: { delta: {} },
    })
  }
  const { text } = await collectRun(run)
  return jsonResponse({
    ...envelope,
    object: 'chat.completion',
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: run.doneReason }],
    usage: usage(run),
  }, 200, run.headers)
}

export const handleCompletions: GenerationHandler = async (ctx, body, scope) => {
  const parsed = parseBody(CompletionBody, body)
  if (!parsed.ok) return openaiError(400, parsed.message)
  const request = parsed.value
  const spec = lookup(ctx, request.model)
  if (spec instanceof Response) return spec
  const run = await startRun(ctx, scope, {
    spec,
    prompt: contentText(typeof request.prompt === 'string' ? request.prompt : request.prompt.join('\n')),
    limit: request.max_tokens ?? undefined,
    keepAliveMs: undefined,
  })
  const envelope = { id: `cmpl-${ctx.nextId()}`, object: 'text_completion', created: Math.floor(run.createdAt.getTime() / 1000), model: request.model }
  if (request.stream === true) {
    return streamRun(run, scope, envelope, request.stream_options?.include_usage === true, {
      piece: (text) => ({ text }),
      finish: { text: '' },
    })
  }
  const { text } = await collectRun(run)
  return jsonResponse({
    ...envelope,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ text, index: 0, logprobs: null, finish_reason: run.doneReason }],
    usage: usage(run),
  }, 200, run.headers)
}
