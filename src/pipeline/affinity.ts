/**
 * Conversation affinity: the turns of one conversation (same client, system prompt and first user message) stay at
 * the class the conversation reached and on the backend that served it, so a warm KV cache and the answers' style
 * carry over. Bounded (entries and age) and kept across config reloads.
 */
import type { ChatRequest, Classification, Selection, TaskClass } from '../plugin/types.ts'
import { classRank } from '../plugin/types.ts'
import { type BoundedMap, createBoundedMap } from './bounded-map.ts'

export interface Conversation {
  readonly label: TaskClass
  readonly backend: string
  readonly model: string
  readonly turns: number
  readonly seenMs: number
}

export type Conversations = BoundedMap<string, Conversation>

/** A conversation idle this long starts over. */
export const AFFINITY_TTL_MS = 30 * 60_000
export const createConversations = (): Conversations => createBoundedMap(20_000)

/** The conversation a request belongs to, or undefined when it has no user message. */
export function conversationKey(request: ChatRequest, client: string | undefined): string | undefined {
  let system = ''
  for (const m of request.messages) {
    if (m.role === 'system') system += `${m.content}\n`
    else if (m.role === 'user') return `${client ?? ''}\u0000${Bun.hash(`${system}\u0000${m.content}`).toString(36)}`
  }
  return undefined
}

/** The live state of a conversation, if it was seen within the TTL. */
export function conversationOf(conversations: Conversations, key: string, nowMs = Date.now()): Conversation | undefined {
  const c = conversations.get(key)
  return c && nowMs - c.seenMs <= AFFINITY_TTL_MS ? c : undefined
}

/** Never step down mid-conversation: a lower class than the conversation reached is raised to it, and says so. */
export function holdClass(c: Classification, prior: Conversation | undefined): Classification {
  if (!prior || classRank(prior.label) <= classRank(c.label)) return c
  return { ...c, label: prior.label, reasons: [...c.reasons, `affinity: conversation reached ${prior.label} (turn ${prior.turns}); classifier said ${c.label}`] }
}

/** Puts the backend that served the conversation first when it is among the selector's options for the same model. */
export function preferBackend(selection: Selection, prior: Conversation | undefined): Selection {
  if (!prior || selection.backend === prior.backend) return selection
  const options = [{ model: selection.model, backend: selection.backend }, ...(selection.fallbacks ?? [])]
  const i = options.findIndex((o) => o.backend === prior.backend && o.model === selection.model)
  if (i <= 0) return selection
  const [chosen] = options.splice(i, 1)
  return { ...chosen!, fallbacks: options, reasons: [`affinity: ${chosen!.model}@${chosen!.backend} served this conversation`, ...selection.reasons] }
}

/** Records this turn of a conversation: the class it reached and where it was answered. */
export function noteTurn(
  conversations: Conversations,
  conversation: { readonly key: string; readonly prior: Conversation | undefined },
  label: Conversation['label'],
  answered: { readonly backend: string; readonly model: string },
): void {
  conversations.set(conversation.key, { label, backend: answered.backend, model: answered.model, turns: (conversation.prior?.turns ?? 0) + 1, seenMs: Date.now() })
}
