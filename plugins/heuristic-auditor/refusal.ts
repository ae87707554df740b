/** Refusals and "as an AI" deflections, counted only when they are most of what the answer says. */

/** Phrasings of a refusal or deflection; apostrophes are folded to ' before matching. */
const REFUSALS: readonly RegExp[] = [
  /\b(?:I'm|I am) sorry,? but I (?:can't|cannot|can not|won't|am unable|'m unable|am not able|'m not able)\b/i,
  /\bas an AI(?: language model| assistant| model)?\b/i,
  /\bI (?:can't|cannot|can not|won't|will not|am unable to|'m unable to|am not able to|'m not able to|must decline to) (?:help|assist|provide|do|comply|fulfill|complete|write|create|generate|answer|share|support|engage)\b/i,
  /\bI must (?:respectfully )?decline\b/i,
  /\b(?:against|violates?) (?:my|the|our) (?:guidelines|policies|programming|usage polic(?:y|ies)|content policy)\b/i,
  /\bI(?:'m| am) not (?:comfortable|permitted|allowed) (?:to )?(?:help|assist|provide|write|answer|share)\b/i,
  /\bI don't have the (?:ability|capability) to\b/i,
]

const SENTENCE_END = /(?<=[.!?])\s+|\n+/

/**
 * A refusal dominates when the answer has no code and at least `minShare` of its sentences refuse or deflect
 * ("I'm sorry, but I can't help with that." or "As an AI, I have no opinions. Ask an expert."); a long helpful
 * answer that mentions a limit once does not count.
 */
export function findRefusal(prose: string, codeBlocks: number, minShare: number): readonly string[] {
  if (codeBlocks > 0) return []
  const sentences = prose.replace(/[\u2018\u2019\u02bc]/g, "'").split(SENTENCE_END).map((s) => s.trim()).filter((s) => /\w/.test(s))
  if (sentences.length === 0) return []
  const refusing = sentences.filter((s) => REFUSALS.some((re) => re.test(s)))
  if (refusing.length === 0 || refusing.length / sentences.length < minShare) return []
  const quote = refusing[0]!.length > 60 ? `${refusing[0]!.slice(0, 57)}...` : refusing[0]!
  return [`refusal or deflection (${refusing.length} of ${sentences.length} sentences): "${quote.replace(/[^\x20-\x7e]+/g, ' ')}"`]
}
