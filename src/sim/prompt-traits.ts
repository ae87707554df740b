/** What the quality model reads off a prompt's text: counts, signal words, whether it asks for code and in which language. */

export const CODE_LANGUAGES = [
  'python', 'typescript', 'javascript', 'json', 'go', 'rust', 'java', 'sql', 'bash',
  'c', 'cpp', 'csharp', 'kotlin', 'swift', 'ruby', 'php',
] as const
export type CodeLanguage = (typeof CODE_LANGUAGES)[number]

/**
 * How each language is recognized in a prompt: its names, common aliases, file extensions, fence tags. Names that
 * are also English words ("go", "C", "Swift") count only in a programming phrase or with their capital.
 */
const LANGUAGE_PATTERNS: Readonly<Record<CodeLanguage, RegExp>> = {
  python: /\bpython3?\b|```py(?:thon)?\b|\.py\b|\b(?:django|flask|pandas|numpy|pytest)\b/gi,
  typescript: /\btypescript\b|```tsx?\b|\bts\b|\.tsx?\b/gi,
  javascript: /\bjavascript\b|```jsx?\b|```javascript\b|\bjs\b|\.jsx?\b|\bnode\.?js\b|\breact\b/gi,
  json: /\bjson\b/gi,
  go: /\bgolang\b|```go\b|\.go\b|\b(?:in|using|to|into) go\b|\bgo (?:function|program|code|struct|module|service|package|routine)s?\b/gi,
  rust: /\brust\b|```rust\b|\.rs\b|\bcargo\b/gi,
  java: /\bjava\b|```java\b|\.java\b|\bspring boot\b/gi,
  sql: /\bsql\b|```sql\b|\bpostgres(?:ql)?\b|\bmysql\b|\bsqlite\b/gi,
  bash: /\bbash\b|```(?:ba)?sh\b|\bshell script\b|\bzsh\b|\.sh\b/gi,
  c: /\b(?:in|using|to|into) C\b(?![+#])|\bC (?:code|program|function|library)\b|\bANSI C\b|```c\n/g,
  cpp: /\bc\+\+|\bcpp\b|```cpp\b/gi,
  csharp: /\bc#|\bcsharp\b|\.net\b|```cs(?:harp)?\b/gi,
  kotlin: /\bkotlin\b|\.kt\b/gi,
  swift: /\bSwift(?:UI)?\b|```swift\b/g,
  ruby: /\bruby\b|\brails\b|\.rb\b/gi,
  php: /\bphp\b|\blaravel\b/gi,
}

const CODE_ASK = /\b(?:functions?|class(?:es)?|methods?|implement\w*|code|script|regex(?:es)?|regular expressions?|snippet|program|algorithm|refactor\w*|debug\w*|unit tests?|endpoint|parser|cli)\b/

/** Asks for a long answer: the answer gets several times more lines. */
const DETAIL_WORDS = /\b(?:full|complete|entire|detailed|comprehensive|thorough|in depth|step[- ]by[- ]step|end[- ]to[- ]end)\b/

export interface PromptTraits {
  readonly text: string
  readonly words: number
  /** Sentences (at least one for a non-empty prompt). */
  readonly sentences: number
  /** "and", commas and semicolons: demands joined inside a sentence. */
  readonly joins: number
  /** Bulleted or numbered lines, extra question marks, and words like "also" or "additionally". */
  readonly parts: number
  /** Lines inside fenced blocks plus lines outside them that look like code. */
  readonly codeLines: number
  readonly asksCode: boolean
  /** The language the answer's code block is in; python when the prompt names none. */
  readonly language: CodeLanguage
  readonly detailed: boolean
  readonly stepByStep: boolean
  /** A short question with no code asked: the answer is a sentence or two. */
  readonly shortQuestion: boolean
  /** Lower-cased content words, in order of appearance, to make the answer talk about the prompt's subject. */
  readonly topics: readonly string[]
}

const STOP_WORDS = new Set([
  'about', 'above', 'after', 'again', 'also', 'because', 'before', 'being', 'below', 'between', 'both', 'could',
  'does', 'doing', 'each', 'from', 'further', 'have', 'having', 'here', 'into', 'itself', 'just', 'like', 'make',
  'more', 'most', 'much', 'must', 'only', 'other', 'over', 'same', 'should', 'some', 'such', 'than', 'that', 'their',
  'them', 'then', 'there', 'these', 'they', 'this', 'those', 'through', 'under', 'until', 'very', 'what', 'when',
  'where', 'which', 'while', 'with', 'would', 'your', 'please', 'write', 'function', 'class', 'using', 'code',
  'python', 'typescript', 'javascript', 'golang', 'rust', 'java', 'bash', 'returns', 'return', 'given', 'want',
  'need', 'full', 'complete', 'entire', 'detailed', 'comprehensive', 'explain', 'implement', 'implementation',
  'simple', 'small', 'quick', 'following', 'given', 'same', 'new', 'way', 'ways', 'one', 'two', 'example',
])
/** Short words that end a noun phrase: prepositions, conjunctions, auxiliaries and the verbs prompts use most. */
const FUNCTION_WORDS = new Set([
  'and', 'or', 'but', 'with', 'in', 'on', 'at', 'to', 'by', 'for', 'of', 'from', 'as', 'is', 'are', 'was', 'be', 'it',
  'its', 'so', 'if', 'not', 'how', 'why', 'who', 'can', 'use', 'get', 'set', 'add', 'has', 'had', 'do', 'does', 'did',
  'all', 'any', 'per', 'via', 'into', 'onto', 'than', 'then', 'works', 'work', 'parses', 'returns', 'skips', 'says',
  'reads', 'loads', 'groups', 'counts', 'covering', 'handles', 'happen', 'happens', 'matches', 'performs', 'show',
])

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0
}

function looksLikeCode(line: string): boolean {
  return /[;{}]\s*$/.test(line) ||
    /^\s*(?:def|class|function|return|import|from|const|let|var|public|private|fn|func|package|#include|SELECT|if|for|while)\b.*[(:{=]/.test(line) ||
    /^(?: {4}|\t)\S/.test(line)
}

function countCodeLines(text: string): number {
  let inFence = false
  let lines = 0
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) {
      inFence = !inFence
      continue
    }
    if (inFence ? line.trim() !== '' : looksLikeCode(line)) lines++
  }
  return lines
}

/**
 * The code block's language: one named after "in", "using", "to" or "with" wins (the last such, as in
 * "convert this Python to TypeScript"); else the first language named that is not JSON; else JSON; else python.
 */
function languageOf(text: string): { language: CodeLanguage; named: boolean } {
  const lower = text.toLowerCase()
  const found: { language: CodeLanguage; index: number }[] = []
  for (const language of CODE_LANGUAGES) {
    for (const match of text.matchAll(LANGUAGE_PATTERNS[language])) found.push({ language, index: match.index })
  }
  if (found.length === 0) return { language: 'python', named: false }
  found.sort((a, b) => a.index - b.index)
  const asked = found.filter(({ index }) => /\b(?:in|using|to|with|into)\s+(?:a |an |the |modern |idiomatic )?$/.test(lower.slice(Math.max(0, index - 20), index)))
  const chosen = asked.at(-1) ?? found.find((f) => f.language !== 'json') ?? found[0]
  return { language: chosen?.language ?? 'python', named: true }
}

const isContentWord = (word: string | undefined): word is string =>
  word !== undefined && /^[a-z][a-z0-9+#-]*$/.test(word) && word.length >= 3 && !STOP_WORDS.has(word) && !FUNCTION_WORDS.has(word)

/**
 * The noun phrases after an article or a determiner ("a CSV line", "the JVM"), one or two words long;
 * when there are none, the longer words of the prompt.
 */
function topicsOf(lower: string): string[] {
  const seen = new Set<string>()
  // A lookahead, so "of a job queue" still finds "a job queue".
  for (const match of lower.matchAll(/\b(?:a|an|the|this|that|these|those|my|our|your|of|for|about)\s+(?=([a-z][\w+#-]*)(?:\s+([a-z][\w+#-]*))?)/g)) {
    const [first, second] = [match[1], match[2]]
    if (!isContentWord(first)) continue
    seen.add(isContentWord(second) && !/(?:ed|ing)$/.test(second) ? `${first} ${second}` : first)
  }
  if (seen.size === 0) {
    for (const word of lower.match(/[a-z][a-z-]{3,}/g) ?? []) if (isContentWord(word) && word.length >= 4) seen.add(word)
  }
  return [...seen]
}

export function readPromptTraits(prompt: string): PromptTraits {
  const text = prompt.trim()
  const lower = text.toLowerCase()
  // Code is not prose: its semicolons and commas are not demands.
  const prose = lower.replace(/```[\s\S]*?(?:```|$)/g, ' ')
  const words = count(text, /\S+/g)
  // A number before a period is a list item, not the end of a sentence.
  const sentences = Math.max(text === '' ? 0 : 1, count(prose, /[a-z)][.!?](?=\s|$)/g))
  const joins = count(prose, /\band\b/g) + count(prose, /[,;]/g)
  const parts = count(prose, /(?:^|\s)(?:\d+[.)]|[-*•])\s+\S/g) +
    Math.max(0, count(prose, /\?/g) - 1) +
    count(prose, /\b(?:also|additionally|as well as|plus|finally|moreover|then)\b/g)
  // Prose only: a fence or a path inside code names the code shown, not the language asked for.
  const { language, named } = languageOf(text.replace(/```[\s\S]*?(?:```|$)/g, (block) => block.slice(0, block.indexOf('\n') + 1)))
  const asksCode = named || CODE_ASK.test(prose) || text.includes('```')
  return {
    text,
    words,
    sentences,
    joins,
    parts,
    codeLines: countCodeLines(text),
    asksCode,
    language,
    detailed: DETAIL_WORDS.test(prose),
    stepByStep: /\bstep[- ]by[- ]step\b/.test(prose),
    shortQuestion: !asksCode && words <= 15 && (text.endsWith('?') || /^(?:what|why|how|when|where|which|who|is|are|does|do|can|should)\b/.test(lower)),
    topics: topicsOf(prose),
  }
}
