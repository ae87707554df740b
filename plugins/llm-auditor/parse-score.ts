/** Reading a 0..10 score (and a one-line reason) out of a judge model's free-text reply. */

export interface JudgeVerdict {
  /** The score on the judge's 0..10 scale (converted when the judge used another scale, e.g. 4/5). */
  readonly outOfTen: number
  /** outOfTen / 10, clamped to 0..1. */
  readonly score: number
  readonly reason: string
}

const NUMBER = String.raw`(\d+(?:\.\d+)?)`
const SCALE = String.raw`(?:\s*(?:/|out of)\s*(\d+))?`
/** "SCORE: 7", "Score - 7/10", "**Score:** 8 out of 10", "score=6". */
const LABELLED = new RegExp(String.raw`\bscore\b\**\s*[:=\-\u2013]?\s*\**\s*${NUMBER}${SCALE}`, 'i')
/** A reply that starts with the number: "7", "7/10 - fine", "**8**". */
const LEADING = new RegExp(String.raw`^[\s*#>]*${NUMBER}${SCALE}(?![\w.])`)
/** "7/10" anywhere. */
const FRACTION = /(?<![\w.])(\d+(?:\.\d+)?)\s*\/\s*10\b/

/** A reason made safe for a header: ASCII, one line, short. */
export const sanitizeReason = (text: string, maxChars = 120) => text.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, maxChars)

/** The verdict in `reply`, or undefined when it holds no score. */
export function parseScore(reply: string): JudgeVerdict | undefined {
  // Reasoning models may think aloud first; only the answer after the thinking counts.
  const text = reply.replace(/<think>[\s\S]*?(?:<\/think>|$)/gi, ' ').trim()
  const match = LABELLED.exec(text) ?? LEADING.exec(text) ?? FRACTION.exec(text)
  if (!match) return undefined
  const value = Number(match[1])
  const scale = match[2] === undefined ? 10 : Number(match[2])
  if (!Number.isFinite(value) || !(scale > 0)) return undefined
  const outOfTen = Math.round((value / scale) * 10 * 10) / 10
  const score = Math.max(0, Math.min(1, outOfTen / 10))
  return { outOfTen, score, reason: reasonOf(text, match.index, match[0].length) }
}

/** The rest of the score's line, else the next non-empty line. */
function reasonOf(text: string, at: number, length: number): string {
  const lineEnd = text.indexOf('\n', at)
  const rest = text.slice(at + length, lineEnd < 0 ? undefined : lineEnd).replace(/^[\s*.,:;)\]-]+/, '')
  if (/\w/.test(rest)) return sanitizeReason(rest)
  const next = lineEnd < 0 ? undefined : text.slice(lineEnd + 1).split('\n').find((l) => /\w/.test(l))
  return next === undefined ? '' : sanitizeReason(next.replace(/^\s*(?:reason\s*[:-]\s*)?/i, ''))
}
