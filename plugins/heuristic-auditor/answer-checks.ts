/** Checks of the answer alone: cut off by a token limit, code that does not parse, a whole answer that is JSON. */
import type { AuditAnswer } from 'switchyard/plugin'
import type { CodeBlock } from './fences.ts'

/** Reasons a broken-code finding lists at most (one per block). */
const MAX_CODE_REASONS = 3

/** Cut off by a token limit the client did not set: a cut at the client's own limit is what it asked for. */
export function findTruncated(answer: AuditAnswer): readonly string[] {
  if (answer.finishReason !== 'length' || answer.clientLimit !== undefined) return []
  const tokens = answer.outputTokens === undefined ? '' : ` after ${answer.outputTokens} tokens`
  return [`cut off by the token limit${tokens} (the client set none)`]
}

/**
 * Blocks that do not parse, and a fence never closed. A block the token limit cut is left to the truncation check
 * (or, at the client's own limit, is what the client asked for).
 */
export function findBrokenCode(blocks: readonly CodeBlock[], cut: boolean, check: (block: CodeBlock) => string | undefined): readonly string[] {
  const reasons: string[] = []
  for (const block of blocks) {
    if (!block.closed && cut) continue
    const name = `code block ${block.index}${block.info === '' ? '' : ` (${block.info})`}`
    if (!block.closed) reasons.push(`${name} is never closed: the fence at line ${block.line} has no closing \`\`\``)
    const problem = block.closed ? check(block) : undefined
    if (problem !== undefined) reasons.push(`${name} does not parse: ${problem.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 120)}`)
    if (reasons.length >= MAX_CODE_REASONS) break
  }
  return reasons
}

/** A whole answer that is one JSON document (structured output): its records repeat by design, not in a loop. */
export function isJsonDocument(text: string): boolean {
  const trimmed = text.trim()
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return false
  try {
    JSON.parse(trimmed)
    return true
  } catch {
    return false
  }
}
