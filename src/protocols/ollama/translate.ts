/** Ollama requests served by an OpenAI-only backend: request mapping, and responses mapped back (JSON and NDJSON). */
import type { ChatRequest } from '../../plugin/types.ts'

type Json = Record<string, unknown>

export interface OpenAIPlan {
  readonly path: '/v1/chat/completions' | '/v1/completions' | '/v1/embeddings'
  readonly body: Json
}

const OPTION_MAP: Record<string, string> = {
  temperature: 'temperature', top_p: 'top_p', seed: 'seed', stop: 'stop', num_predict: 'max_tokens',
  presence_penalty: 'presence_penalty', frequency_penalty: 'frequency_penalty',
}

function mapOptions(options: unknown): Json {
  const out: Json = {}
  if (!options || typeof options !== 'object') return out
  for (const [key, value] of Object.entries(options as Json)) {
    const mapped = OPTION_MAP[key]
    if (mapped && !(key === 'num_predict' && typeof value === 'number' && value < 0)) out[mapped] = value
  }
  return out
}

function mapFormat(format: unknown): Json {
  if (format === 'json') return { response_format: { type: 'json_object' } }
  if (format && typeof format === 'object') return { response_format: { type: 'json_schema', json_schema: { name: 'response', schema: format } } }
  return {}
}

/**
 * Ollama's tool results carry no call id; OpenAI needs one. Calls get ids `call_<n>` in the order they were made
 * and each tool message answers the next unanswered call, which is how Ollama pairs them.
 */
function mapMessages(messages: readonly Json[]): Json[] {
  let next = 0
  const unanswered: string[] = []
  return messages.map((m) => {
    const mapped = mapMessage(m, () => {
      const id = `call_${next++}`
      unanswered.push(id)
      return id
    })
    if (m.role === 'tool' && mapped.tool_call_id === undefined) mapped.tool_call_id = unanswered.shift() ?? `call_${next}`
    return mapped
  })
}

function mapMessage(m: Json, nextId: () => string): Json {
  const images = Array.isArray(m.images) ? (m.images as string[]) : []
  const toolCalls = Array.isArray(m.tool_calls)
    ? (m.tool_calls as { function?: { name?: string; arguments?: unknown } }[]).map((call) => ({
        id: nextId(), type: 'function',
        function: { name: call.function?.name ?? '', arguments: JSON.stringify(call.function?.arguments ?? {}) },
      }))
    : undefined
  const content = images.length
    ? [{ type: 'text', text: m.content ?? '' }, ...images.map((b64) => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } }))]
    : (m.content ?? '')
  return {
    role: m.role, content,
    ...(toolCalls ? { tool_calls: toolCalls } : {}),
    ...(m.role === 'tool' && typeof m.tool_call_id === 'string' ? { tool_call_id: m.tool_call_id } : {}),
  }
}

export function toOpenAIRequest(req: ChatRequest, model: string): OpenAIPlan {
  const body = req.body
  const common = { model, stream: req.stream, ...(req.stream ? { stream_options: { include_usage: true } } : {}), ...mapOptions(body.options), ...mapFormat(body.format) }
  if (req.operation === 'embed') {
    return { path: '/v1/embeddings', body: { model, input: body.input ?? body.prompt ?? '' } }
  }
  if (req.operation === 'generate' && body.raw === true) {
    return { path: '/v1/completions', body: { ...common, prompt: body.prompt ?? '', ...(body.suffix ? { suffix: body.suffix } : {}) } }
  }
  const messages = req.operation === 'chat' ? mapMessages((body.messages as Json[] | undefined) ?? []) : req.messages.map((m) => ({ role: m.role, content: m.content }))
  return { path: '/v1/chat/completions', body: { ...common, messages, ...(Array.isArray(body.tools) ? { tools: body.tools } : {}) } }
}

interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
}

/** The gateway's own counts, for an upstream that reported none (see src/pipeline/usage.ts). */
export interface TokenCounts {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** A usable count: a non-negative number (anything else reads as missing). */
const count = (n: unknown): number | undefined => (typeof n === 'number' && n >= 0 ? n : undefined)

function stats(usage: Usage | undefined, startedNs: number, fallback?: TokenCounts): Json {
  const total = Math.max(0, Math.round(performance.now() * 1e6 - startedNs))
  return {
    total_duration: total, load_duration: 0,
    prompt_eval_count: count(usage?.prompt_tokens) ?? fallback?.inputTokens ?? 0, prompt_eval_duration: 0,
    eval_count: count(usage?.completion_tokens) ?? fallback?.outputTokens ?? 0, eval_duration: total,
  }
}

const doneReason = (finish: unknown) => (finish === 'length' ? 'length' : 'stop')

function toolCallsOf(message: Json | undefined): Json[] | undefined {
  const calls = message?.tool_calls as { function?: { name?: string; arguments?: string } }[] | undefined
  if (!calls?.length) return undefined
  return calls.map((c) => ({ function: { name: c.function?.name ?? '', arguments: parseArguments(c.function?.arguments ?? '') } }))
}

/** A whole OpenAI JSON response as the Ollama response the client asked for; `fallback` counts stand in for missing usage. */
export function fromOpenAIResponse(req: ChatRequest, model: string, json: Json, startedNs: number, fallback?: TokenCounts): Json {
  const createdAt = new Date().toISOString()
  if (req.operation === 'embed') {
    const data = (json.data as { embedding: number[]; index: number }[] | undefined) ?? []
    const usage = json.usage as Usage | undefined
    return { model, embeddings: data.toSorted((a, b) => a.index - b.index).map((d) => d.embedding), total_duration: 0, load_duration: 0, prompt_eval_count: count(usage?.prompt_tokens) ?? fallback?.inputTokens ?? 0 }
  }
  const choice = (json.choices as Json[] | undefined)?.[0] ?? {}
  const message = choice.message as Json | undefined
  const text = String(message?.content ?? choice.text ?? '')
  const base = { model, created_at: createdAt, done: true, done_reason: doneReason(choice.finish_reason), ...stats(json.usage as Usage, startedNs, fallback) }
  if (req.operation === 'generate') return { ...base, response: text }
  const thinking = message?.reasoning ?? message?.reasoning_content
  const toolCalls = toolCallsOf(message)
  return {
    ...base,
    message: { role: 'assistant', content: text, ...(thinking ? { thinking } : {}), ...(toolCalls ? { tool_calls: toolCalls } : {}) },
  }
}

/**
 * One OpenAI stream chunk as Ollama NDJSON lines (none for chunks that carry nothing). `fallback` gives the done
 * line its counts when the upstream sent no usage (it ignored `stream_options.include_usage`).
 */
export function createStreamMapper(req: ChatRequest, model: string, startedNs: number, fallback?: () => TokenCounts) {
  let finish: unknown
  let usage: Usage | undefined
  let ended = false
  /** Streamed tool calls arrive in pieces (OpenAI: name once, arguments as string fragments) keyed by index. */
  const calls = new Map<number, { name: string; args: string }>()
  const line = (o: Json) => `${JSON.stringify(o)}\n`
  const message = (content: string, extra: Json = {}) => ({ model, created_at: new Date().toISOString(), done: false, message: { role: 'assistant', content, ...extra } })
  /** Ollama sends a model's tool calls whole, with arguments as an object: one chunk once all pieces are in. */
  const flushCalls = (): string => {
    if (calls.size === 0) return ''
    const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => ({ function: { name: c.name, arguments: parseArguments(c.args) } }))
    calls.clear()
    return line(message('', { tool_calls: toolCalls }))
  }
  return {
    chunk(json: Json): string {
      if (json.usage) usage = json.usage as Usage
      const choice = (json.choices as Json[] | undefined)?.[0]
      if (!choice) return ''
      const delta = (choice.delta as Json | undefined) ?? {}
      const deltaCalls = delta.tool_calls as { index?: number; function?: { name?: string; arguments?: string } }[] | undefined
      for (const [i, call] of (deltaCalls ?? []).entries()) {
        const index = call.index ?? i
        const pending = calls.get(index) ?? { name: '', args: '' }
        pending.name += call.function?.name ?? ''
        pending.args += call.function?.arguments ?? ''
        calls.set(index, pending)
      }
      let out = ''
      const text = String(delta.content ?? choice.text ?? '')
      const thinking = delta.reasoning ?? delta.reasoning_content
      if (text || thinking) {
        out += req.operation === 'generate'
          ? line({ model, created_at: new Date().toISOString(), response: text, done: false })
          : line(message(text, thinking ? { thinking } : {}))
      }
      if (choice.finish_reason) {
        finish = choice.finish_reason
        out += flushCalls()
      }
      return out
    },
    end(): string {
      if (ended) return ''
      ended = true
      const base = { model, created_at: new Date().toISOString(), done: true, done_reason: doneReason(finish), ...stats(usage, startedNs, fallback?.()) }
      return flushCalls() + line(req.operation === 'generate' ? { ...base, response: '' } : { ...base, message: { role: 'assistant', content: '' } })
    },
  }
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text || '{}')
  } catch {
    return { raw: text }
  }
}
