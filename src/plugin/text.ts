/** Text views of a normalized request that classifiers and caches share. */
import type { ChatRequest } from './types.ts'

/** All message text in order, roles prefixed, as one string (what a classifier reads). */
export function requestText(req: Pick<ChatRequest, 'messages'>): string {
  return req.messages.map((m) => m.content).join('\n\n')
}

/** The last user message's text, or '' when there is none. */
export function lastUserText(req: Pick<ChatRequest, 'messages'>): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i]
    if (m && m.role === 'user') return m.content
  }
  return ''
}
