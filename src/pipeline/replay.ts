/**
 * A whole (non-streamed) answer as the stream its client asked for: OpenAI SSE chunks or Ollama NDJSON lines, the
 * text cut into small pieces, the last frame with the finish reason and the counts. What a draft-and-audit answer
 * is sent as, since it was generated in full before anything reached the client.
 */
import type { AuditAnswer, ChatRequest } from '../plugin/types.ts'
import { sseData } from '../protocols/openai/stream.ts'
import { maxOutputTokens } from './usage.ts'

type Json = Record<string, unknown>

/** Characters per replayed piece: a few tokens, so a client renders the answer as it would a live stream. */
const PIECE_CHARS = 16

/** The text cut at word ends into pieces of about `PIECE_CHARS`; joined they are the text exactly. */
export function pieces(text: string): string[] {
  const out: string[] = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(text.length, start + PIECE_CHARS)
    if (end < text.length) {
      const space = text.indexOf(' ', end)
      end = space === -1 || space - start > PIECE_CHARS * 4 ? end : space
    }
    // Never split a UTF-16 surrogate pair.
    if (end < text.length && /[\ud800-\udbff]/.test(text[end - 1]!)) end++
    out.push(text.slice(start, end))
    start = end
  }
  return out
}

function firstChoice(json: Json): Json | undefined {
  const choices = json.choices
  return Array.isArray(choices) ? (choices[0] as Json | undefined) : undefined
}

/** What an auditor reads of a whole answer (its JSON, in the client's protocol): text, finish reason, output tokens. */
export function answerOf(request: ChatRequest, model: string, json: Json): AuditAnswer & { readonly toolCalls: boolean } {
  const choice = firstChoice(json)
  const message = (choice?.message ?? json.message) as Json | undefined
  const text = typeof message?.content === 'string' ? message.content : typeof choice?.text === 'string' ? choice.text : typeof json.response === 'string' ? json.response : ''
  const calls = message?.tool_calls
  const usage = json.usage as Json | undefined
  const outputTokens = typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : typeof json.eval_count === 'number' ? json.eval_count : undefined
  const reason = choice?.finish_reason ?? json.done_reason
  return {
    text, model, toolCalls: Array.isArray(calls) && calls.length > 0, clientLimit: maxOutputTokens(request),
    ...(typeof reason === 'string' ? { finishReason: reason } : {}), ...(outputTokens !== undefined ? { outputTokens } : {}),
  }
}

function openAIFrames(request: ChatRequest, json: Json): string[] {
  const choice = firstChoice(json) ?? {}
  const chat = request.operation === 'chat'
  const base = { id: json.id, object: chat ? 'chat.completion.chunk' : 'text_completion', created: json.created, model: json.model, system_fingerprint: json.system_fingerprint }
  const frame = (delta: Json, finish: unknown = null) => sseData({ ...base, choices: [chat ? { index: 0, delta, logprobs: null, finish_reason: finish } : { index: 0, ...delta, logprobs: null, finish_reason: finish }] })
  const out: string[] = []
  const message = (choice.message ?? {}) as Json
  const text = chat ? (typeof message.content === 'string' ? message.content : '') : typeof choice.text === 'string' ? choice.text : ''
  if (chat) out.push(frame({ role: 'assistant', content: '' }))
  for (const piece of pieces(text)) out.push(frame(chat ? { content: piece } : { text: piece }))
  if (chat && Array.isArray(message.tool_calls)) {
    out.push(frame({ tool_calls: (message.tool_calls as Json[]).map((call, index) => ({ index, ...call })) }))
  }
  out.push(frame(chat ? {} : { text: '' }, choice.finish_reason ?? 'stop'))
  const options = request.body.stream_options as { include_usage?: unknown } | null | undefined
  if (options?.include_usage === true && json.usage) out.push(sseData({ ...base, choices: [], usage: json.usage }))
  out.push('data: [DONE]\n\n')
  return out
}

/** Ollama's final line keeps every field of the whole answer but the text, which went out in the lines before. */
function ollamaFrames(request: ChatRequest, json: Json): string[] {
  const line = (obj: Json) => `${JSON.stringify(obj)}\n`
  const out: string[] = []
  const chat = request.operation === 'chat'
  const message = (json.message ?? {}) as Json
  const text = chat ? (typeof message.content === 'string' ? message.content : '') : typeof json.response === 'string' ? json.response : ''
  for (const piece of pieces(text)) {
    out.push(line(chat ? { model: json.model, created_at: json.created_at, message: { role: 'assistant', content: piece }, done: false } : { model: json.model, created_at: json.created_at, response: piece, done: false }))
  }
  const last = chat ? { ...json, message: { ...message, content: '' } } : { ...json, response: '' }
  out.push(line({ ...last, done: true }))
  return out
}

/** The frames of a whole answer (its JSON, in the client's protocol) as the stream the client asked for. */
export function streamFrames(request: ChatRequest, json: Json): string[] {
  return request.protocol === 'openai' ? openAIFrames(request, json) : ollamaFrames(request, json)
}
