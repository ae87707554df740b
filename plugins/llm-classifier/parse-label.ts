/** Reading a class label out of a small model's free-text reply, tolerant of case, quotes and chatter. */
import type { TaskClass } from 'switchyard/plugin'

const LABEL = /\b(SIMPLE|MODERATE|COMPLEX)\b/gi

/** The label the reply names, or undefined when it names none or contradicts itself. */
export function parseLabel(reply: string): TaskClass | undefined {
  // Reasoning models may think aloud first; only the answer after the thinking counts.
  const answer = reply.replace(/<think>[\s\S]*?(<\/think>|$)/gi, ' ')
  const found = new Set([...answer.matchAll(LABEL)].map((m) => (m[1] ?? '').toUpperCase() as TaskClass))
  if (found.size !== 1) return undefined
  return [...found][0]
}

/** A reply made safe for a reason header: ASCII, one line, short. */
export const sanitizeForReason = (text: string) => text.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 40)
