/** Text views of a normalized request that classifiers and caches share. */
import type { ChatRequest } from './types.ts'

/** All message text in order, roles prefixed, as one string (what a classifier reads). */
export function requestText(req: Pick<ChatRequest, 'messages'>): string {
  return req.messages.map((m) => m.content).join('\n\n')
}

/** About four characters a token: the estimate where no tokenizer is at hand (prompts, answers without usage). */
export const CHARS_PER_TOKEN = 4

/** A request's prompt tokens, estimated from its messages' characters. */
export function estimatePromptTokens(req: Pick<ChatRequest, 'messages'>): number {
  let chars = 0
  for (const m of req.messages) chars += m.content.length
  return Math.ceil(chars / CHARS_PER_TOKEN)
}

/** The index of the last user message, or -1 when there is none. */
export function lastUserIndex(req: Pick<ChatRequest, 'messages'>): number {
  for (let i = req.messages.length - 1; i >= 0; i--) if (req.messages[i]?.role === 'user') return i
  return -1
}

/** The last user message's text, or '' when there is none. */
export function lastUserText(req: Pick<ChatRequest, 'messages'>): string {
  return req.messages[lastUserIndex(req)]?.content ?? ''
}
