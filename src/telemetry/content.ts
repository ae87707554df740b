/** Opt-in prompt/completion capture: GenAI `gen_ai.input.messages` / `gen_ai.output.messages` JSON, bounded in size. */
import type { ChatRequest } from '../plugin/types.ts'

/** Longest text kept per message; spans are not a transcript store. */
const MAX_CHARS = 16_384

const clip = (text: string) => (text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text)

export function inputMessages(request: ChatRequest): string {
  return JSON.stringify(request.messages.map((m) => ({ role: m.role, parts: [{ type: 'text', content: clip(m.content) }] })))
}

/** The assistant text of one JSON answer or stream frame, in either protocol's shape. */
function textOf(json: Record<string, unknown>): string {
  const choice = (json.choices as Record<string, unknown>[] | undefined)?.[0]
  const delta = choice?.delta as { content?: unknown } | undefined
  const message = (choice?.message ?? json.message) as { content?: unknown } | undefined
  const text = delta?.content ?? message?.content ?? choice?.text ?? json.response
  return typeof text === 'string' ? text : ''
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const json = JSON.parse(text) as unknown
    return json && typeof json === 'object' ? (json as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Completion text from a whole body or from SSE / NDJSON frames. */
export function outputMessages(chunks: readonly string[], finishReason?: string): string {
  const body = chunks.join('')
  const whole = parse(body)
  let text = whole ? textOf(whole) : ''
  if (!whole) {
    for (const line of body.split('\n')) {
      const data = line.startsWith('data:') ? line.slice(5).trim() : line.trim()
      if (!data || data === '[DONE]') continue
      const json = parse(data)
      if (json) text += textOf(json)
    }
  }
  return JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: clip(text) }], finish_reason: finishReason ?? 'stop' }])
}
