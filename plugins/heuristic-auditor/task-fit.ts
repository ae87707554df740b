/** Whether the answer fits what the task asked: long enough when a whole piece was asked for, in the language named. */
import { scanCode } from '../heuristic-classifier/code-scan.ts'
import { splitFences, type CodeBlock } from './fences.ts'

/** Asks for a whole or detailed piece, not a one-liner ("complete the code below" is an edit, not such a request). */
const ASKS_FOR_LONG: readonly RegExp[] = [
  /\b(?:full|complete(?!\s+(?:the|this|that|these|those|my|our|following)\b)|entire|whole|detailed|comprehensive|thorough|in-depth)\b(?:\s+[\w+#.-]+){0,3}?\s+(?:program|code|implementation|solution|explanation|guide|example|script|class|module|app|application|tutorial|walkthrough|version|file|source|test suite|documentation|breakdown|overview|analysis|rewrite|service|server|api)s?\b/i,
  /\bstep[- ]by[- ]step\b/i,
  /\bin (?:full|detail)\b/i,
  /\b(?:write|implement|build|create|code|develop)\s+(?:me\s+)?(?:a|an|the)\b(?:\s+[\w+#.-]+){0,5}?\s+(?:program|module|class|implementation|application|app|script|library|service|server|cli|game|parser|interpreter|compiler)\b/i,
]

export const asksForLongAnswer = (task: string): boolean => ASKS_FOR_LONG.some((re) => re.test(task))

export interface LengthLimits {
  /** Non-blank lines (fences not counted) below which an answer to such a task is too short... */
  readonly minLines: number
  /** ...when it also has fewer words than this. */
  readonly minWords: number
}

/** A task that asks for a whole program or a detailed explanation, answered in a couple of lines. */
export function findTooShort(task: string, text: string, blocks: readonly CodeBlock[], limits: LengthLimits): readonly string[] {
  if (!asksForLongAnswer(task)) return []
  const fenceLines = blocks.reduce((n, b) => n + (b.closed ? 2 : 1), 0)
  const lines = text.split('\n').filter((l) => l.trim() !== '').length - fenceLines
  const words = text.split(/\s+/).filter(Boolean).length
  if (lines >= limits.minLines || words >= limits.minWords) return []
  return [`too short for the task: ${lines} lines, ${words} words where a full answer was asked for`]
}

/**
 * Programming languages a prompt can name, keyed by the name code-scan folds fence tags to. Words that are also
 * English ("go", "c") count only in a programming phrase ("in Go", "Go code").
 */
const LANGUAGE_NAMES: Readonly<Record<string, RegExp>> = {
  python: /\bpython\d?\b/i,
  typescript: /\btypescript\b/i,
  javascript: /\bjavascript\b|\bnode\.?js\b|\b(?:in|using|with) js\b/i,
  go: /\bgolang\b|\b(?:in|using|to|into) Go\b|\bGo (?:code|program|function|module|package|struct|service|version|script)\b/,
  rust: /\brust\b/i,
  java: /\bjava\b(?!\s*script)/i,
  cpp: /\bc\+\+|\bcpp\b/i,
  csharp: /\bc#|\bcsharp\b|\.net\b/i,
  c: /\b(?:in|using|to|into) C\b(?![+#])|\bC (?:code|program|function|library)\b|\bANSI C\b/,
  ruby: /\bruby\b/i,
  php: /\bphp\b/i,
  kotlin: /\bkotlin\b/i,
  swift: /\bSwift(?:UI)?\b/,
  scala: /\bscala\b/i,
  haskell: /\bhaskell\b/i,
  sql: /\bsql\b|\bpostgres(?:ql)?\b|\bmysql\b|\bsqlite\b/i,
  shell: /\bbash\b|\bshell script\b|\bzsh\b/i,
}

/** Tags of blocks that accompany code in any language (commands, output, data), never "another language". */
const AUXILIARY = new Set(['', 'shell', 'json', 'yaml', 'toml', 'xml', 'html', 'css', 'markdown', 'md', 'diff', 'ini', 'dockerfile', 'makefile', 'csv', 'env', 'properties', 'log', 'http'])

/** Languages close enough that an answer in one serves a question in the other. */
const SAME_FAMILY: Readonly<Record<string, readonly string[]>> = {
  javascript: ['typescript'], typescript: ['javascript'], c: ['cpp'], cpp: ['c'],
}

const TRANSLATE_TARGET = /\b(?:to|into|in)\s+([\w+#.]+(?:\s+script)?)\s*[.?!]?\s*$|\b(?:convert|translate|port|rewrite)\b.*?\b(?:to|into|in)\s+([\w+#.]+)/i

/** The one language the task asks for: the only one it names, or the target of "convert ... to X". */
export function askedLanguage(task: string): string | undefined {
  const prose = splitFences(task).prose
  const named = Object.keys(LANGUAGE_NAMES).filter((k) => LANGUAGE_NAMES[k]!.test(prose))
  if (named.length === 1) return named[0]
  if (named.length === 0) return undefined
  const target = TRANSLATE_TARGET.exec(prose)
  const word = target?.[1] ?? target?.[2]
  if (word === undefined) return undefined
  const hits = named.filter((k) => LANGUAGE_NAMES[k]!.test(`in ${word}`))
  return hits.length === 1 ? hits[0] : undefined
}

/** A block's language: its tag, or for an untagged block the one language its lines clearly are. */
function blockLanguage(block: CodeBlock): string {
  if (block.language !== '') return block.language
  const guessed = scanCode(block.body, true).unfenced
  return guessed.length === 1 ? guessed[0]! : ''
}

/** The task names one language and every code block of the answer is another. */
export function findWrongLanguage(task: string, blocks: readonly CodeBlock[]): readonly string[] {
  const asked = askedLanguage(task)
  if (asked === undefined) return []
  const accepted = new Set([asked, ...(SAME_FAMILY[asked] ?? [])])
  const languages = blocks.map(blockLanguage).filter((l) => !AUXILIARY.has(l) || accepted.has(l))
  if (languages.length === 0 || languages.some((l) => accepted.has(l))) return []
  return [`wrong language: asked for ${asked}, code is ${[...new Set(languages)].join(', ')}`]
}
