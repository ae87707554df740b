/** Repetition loops: a share of repeated word n-grams, or one sentence or line said again and again. */
import type { CodeBlock } from './fences.ts'

export interface RepetitionLimits {
  /** Words per n-gram. */
  readonly ngram: number
  /** Share of n-grams that repeat an earlier one, above which the answer loops. */
  readonly maxRepeatedShare: number
  /** Times one prose sentence (4+ words) may appear, or one phrase (1-4 words) or code line (3+ words) in a row. */
  readonly maxRepeats: number
}

/** N-grams fewer than this say nothing about a loop (a short answer repeats by chance). */
const MIN_NGRAMS = 12

/** Each word as a small integer (equal words, equal ids), and how many distinct words there are. */
function wordIds(words: readonly string[]): { ids: number[]; distinct: number } {
  const known = new Map<string, number>()
  const ids = words.map((w) => {
    let id = known.get(w)
    if (id === undefined) known.set(w, (id = known.size))
    return id
  })
  return { ids, distinct: known.size }
}

/**
 * Share of the word n-grams of `text` that already appeared earlier in it. An n-gram is one number (its word ids
 * packed in base `distinct`, exact below 2^53): hashing joined strings was 5x slower on a 2 KB answer.
 */
export function repeatedNgramShare(text: string, n: number): { share: number; total: number } {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean)
  const total = words.length - n + 1
  if (total <= 0) return { share: 0, total: 0 }
  const { ids, distinct } = wordIds(words)
  const exact = distinct ** n < Number.MAX_SAFE_INTEGER
  const seen = new Set<number | string>()
  let repeated = 0
  for (let i = 0; i < total; i++) {
    let gram: number | string = 0
    if (exact) for (let j = i; j < i + n; j++) gram = gram * distinct + ids[j]!
    else gram = words.slice(i, i + n).join(' ')
    if (seen.has(gram)) repeated++
    else seen.add(gram)
  }
  return { share: repeated / total, total }
}

/** A long answer may restate a point now and then; a loop is a sentence that is a good part of everything said. */
const MIN_SENTENCE_SHARE = 0.25

/** The prose sentence said most often (4+ words), with its count and its share of all sentences. */
function mostRepeatedSentence(prose: string): { text: string; count: number; share: number } | undefined {
  const counts = new Map<string, number>()
  let sentences = 0
  for (const raw of prose.split(/(?<=[.!?])\s+|\n+/)) {
    const s = raw.trim().toLowerCase()
    if (s === '') continue
    sentences++
    if (s.split(/\s+/).length >= 4) counts.set(s, (counts.get(s) ?? 0) + 1)
  }
  let best: { text: string; count: number; share: number } | undefined
  for (const [text, count] of counts) if (!best || count > best.count) best = { text, count, share: count / sentences }
  return best
}

/** Longest unit of words a run is looked for in ("wait," or "let me fix that"). */
const MAX_RUN_UNIT = 4

/**
 * The phrase of 1..4 words repeated most times in a row ("wait, wait, wait, ..."), in one linear pass per unit
 * length: a phrase of u words said r times in a row is a streak of (r - 1) * u words each equal to the one u later.
 */
export function longestPhraseRun(text: string): { text: string; count: number } | undefined {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean)
  let best: { text: string; count: number } | undefined
  for (let unit = 1; unit <= MAX_RUN_UNIT; unit++) {
    let streak = 0
    for (let k = 0; k + unit < words.length; k++) {
      streak = words[k] === words[k + unit] ? streak + 1 : 0
      const count = Math.floor(streak / unit) + 1
      if (count > (best?.count ?? 1)) best = { text: words.slice(k - streak + 1, k - streak + 1 + unit).join(' '), count }
    }
  }
  return best
}

/** The longest run of one identical code line (3+ words) in a row: a generator stuck on a line. */
function longestLineRun(blocks: readonly CodeBlock[]): { text: string; count: number } | undefined {
  let best: { text: string; count: number } | undefined
  for (const block of blocks) {
    let previous = ''
    let run = 0
    for (const raw of block.body.split('\n')) {
      const line = raw.trim()
      run = line === previous ? run + 1 : 1
      previous = line
      if (line.split(/\s+/).length >= 3 && (!best || run > best.count)) best = { text: line, count: run }
    }
  }
  return best
}

const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 37)}...` : text).replace(/[^\x20-\x7e]+/g, ' ')

export function findRepetition(text: string, prose: string, blocks: readonly CodeBlock[], limits: RepetitionLimits): readonly string[] {
  const reasons: string[] = []
  const { share, total } = repeatedNgramShare(text, limits.ngram)
  if (total >= MIN_NGRAMS && share > limits.maxRepeatedShare) {
    reasons.push(`repetition loop: ${Math.round(share * 100)}% of ${limits.ngram}-word sequences repeat`)
  }
  const sentence = mostRepeatedSentence(prose)
  if (sentence && sentence.count >= limits.maxRepeats && sentence.share >= MIN_SENTENCE_SHARE) reasons.push(`repetition loop: "${clip(sentence.text)}" said ${sentence.count} times`)
  const run = longestPhraseRun(prose)
  if (run && run.count >= limits.maxRepeats) reasons.push(`repetition loop: "${clip(run.text)}" ${run.count} times in a row`)
  const line = longestLineRun(blocks)
  if (line && line.count >= limits.maxRepeats) reasons.push(`repetition loop: code line "${clip(line.text)}" ${line.count} times in a row`)
  return reasons
}
