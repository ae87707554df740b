/** Request features (size, code, structure, constraints, conversation) shared by the heuristic and learned classifiers. */
import { type ChatRequest, lastUserIndex } from 'switchyard/plugin'
import { countNewlines, scanCode, scanFiles } from './code-scan.ts'

export interface RequestFeatures {
  /** Approximate tokens of the whole request (about 4 characters each). */
  readonly tokens: number
  /** Approximate tokens of the last user message alone. */
  readonly promptTokens: number
  readonly codeBlocks: number
  /** Share of characters that look like code (fenced blocks, indented or symbol-heavy lines). */
  readonly codeShare: number
  readonly lines: number
  /** Function or method definitions and signatures referenced. */
  readonly functions: number
  readonly classes: number
  readonly files: number
  /** Messages before the last user message (conversation depth). */
  readonly depth: number
  readonly systemTokens: number
  readonly imperatives: number
  readonly constraints: number
  readonly examples: number
  readonly bullets: number
  readonly question: boolean
  /** Intent vocabulary in the prompt's prose (code blocks left out): what kind of work is asked for, not how long it is. */
  readonly intent: Readonly<Record<IntentKind, number>>
  /** Approximate tokens of the messages other than the last user message and the system prompt (earlier turns). */
  readonly contextTokens: number
  /** Intent vocabulary of the earlier turns in the window (the task the conversation is about). */
  readonly contextIntent: Readonly<Record<IntentKind, number>>
  /** Languages of fenced code (the fence's info string, normalized: ```py -> python). */
  readonly languages: readonly string[]
  /** Languages guessed for unfenced code (two or more lines with that language's signatures). */
  readonly unfencedLanguages: readonly string[]
  /** Lines inside fenced code blocks. */
  readonly codeLines: number
  /** Distinct file names or paths mentioned (`src/a.ts`, `foo.py`). */
  readonly filePaths: number
  /** Their distinct extensions. */
  readonly fileExtensions: readonly string[]
  /** Tool definitions the request carries. */
  readonly tools: number
  readonly hasSystem: boolean
}

export const INTENT_KINDS = ['design', 'restructure', 'concurrency', 'scale', 'security', 'edit', 'implement'] as const
export type IntentKind = (typeof INTENT_KINDS)[number]

const FUNCTION_DEF = /\b(?:def|function|func|fn)\s+\w+\s*\(|\b(?:public|private|protected|static)\s+\w[\w<>[\]]*\s+\w+\s*\(|=>/g
const CLASS_DEF = /\bclass\s+[A-Z]\w*|\binterface\s+[A-Z]\w*|\bstruct\s+[A-Z]\w*/g
const IMPERATIVE = /\b(?:write|implement|create|build|design|add|make|return|compute|calculate|find|generate|develop|define|construct|modify|refactor|optimi[sz]e|fix|debug|explain|convert|sort|print|ensure|handle|complete|determine|count)\b/gi
const CONSTRAINT = /\bmust\b|\bwithout\b|\bshould not\b|\bat (?:most|least)\b|\bO\([^)]{1,20}\)|\bconstraints?\b|\bedge cases?\b|\bin[- ]place\b|\btime complexity\b|\bspace complexity\b|\befficient(?:ly)?\b|\b10\^\d|<=|>=|≤|≥|\bmodulo\b/gi
const EXAMPLE = /\bexample\s*\d*\s*:|\binput\s*:|\boutput\s*:|>>>\s/gi
const BULLET = /^\s*(?:[-*•]|\d+[.)])\s+\S/gm
// Short prompts are often short only because the hard part is in the words: "design a distributed ...".
// Words and two-word phrases (`_` joins a phrase; a hyphen in the text counts as a space), looked up per token.
const INTENT_TERMS: Readonly<Record<IntentKind, string>> = {
  design: 'design designs designed designing architect architects architecture architectures architectural '
    + 'distributed regions multi_region multiple_regions multi_tenant multitenant shard shards sharded '
    + 'sharding replicate replicated replication replica replicas failover fail_over microservice '
    + 'microservices monolith monolithic event_driven event_sourced event_sourcing cqrs consensus tradeoff '
    + 'tradeoffs trade_off trade_offs bounded_context bounded_contexts high_availability highly_available '
    + 'fault_tolerant fault_tolerance consistency system_design load_balancer load_balancing',
  restructure: 'refactor refactors refactored refactoring restructure restructured restructuring modularize '
    + 'modularise decouple decoupled decoupling dependency_injection plugin plugins into_services '
    + 'into_modules into_packages into_layers hexagonal layered migrate migrating migrated '
    + 'migration migrations downtime backward_compatible backwards_compatible without_breaking rollout',
  concurrency: 'race races race_condition data_race deadlock deadlocks deadlocked deadlocking livelock concurrency '
    + 'concurrent concurrently thread_safe threadsafe multithreaded multi_threaded multithreading threads '
    + 'mutex mutexes goroutine goroutines heisenbug intermittent intermittently atomic atomically '
    + 'synchronize synchronized synchronization lost_update lost_updates loses_updates lose_updates',
  scale: 'scale scales scaling scalable scalability p50 p90 p95 p99 p999 latency throughput per_second rps qps '
    + 'million millions billion billions performance optimize optimise optimized optimizing optimization '
    + 'bottleneck bottlenecks memory_usage under_load tb terabytes',
  security: 'security vulnerable vulnerability vulnerabilities threat_model threat_modeling threat_modelling '
    + 'attack attacks attacker attackers audit csrf xss sql_injection privilege privileges exploit exploits '
    + 'exploitable penetration pentest',
  edit: 'docstring docstrings doc_string jsdoc comment comments rename renaming renamed typo typos spelling '
    + 'spell_check misspelled reformat format_this format_the format_it indent indentation indented '
    + 'type_hints type_hint prettify tidy this_line what_does what_is define explain descriptive '
    + 'log_message variable_name variable_names one_sentence',
  implement: 'implement implements implementing implementation unit_test unit_tests test tests convert converts '
    + 'port rewrite helper function script routine cli sql query validation error_handling',
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const hashWord = (word: string) => {
  let h = FNV_OFFSET
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), FNV_PRIME)
  return h
}
// Hashes stay int32 (no `>>> 0`) so Map keys are small integers.
const hashPair = (a: number, b: number) => Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) ^ b

// Keyed by word hash, so scanning allocates no strings; a stray 32-bit collision costs one miscounted word at worst.
const INTENT_LOOKUP = new Map<number, IntentKind>()
const PHRASE_STARTS = new Set<number>()
for (const kind of INTENT_KINDS) {
  for (const term of INTENT_TERMS[kind].split(' ')) {
    const [first, second] = term.split('_') as [string, string | undefined]
    INTENT_LOOKUP.set(second === undefined ? hashWord(first) : hashPair(hashWord(first), hashWord(second)), kind)
    if (second !== undefined) PHRASE_STARTS.add(hashWord(first))
  }
}

/**
 * Intent vocabulary counts over the prose of `text` (fenced code skipped), case-folded; tokens are runs of
 * [a-z0-9], and a number with a k/m/tb/gb suffix ("50k") counts as scale.
 */
function countIntent(text: string): Record<IntentKind, number> {
  const out = { design: 0, restructure: 0, concurrency: 0, scale: 0, security: 0, edit: 0, implement: 0 }
  let prev = 0
  let h = FNV_OFFSET
  let start = -1
  let inFence = false
  for (let j = 0; j <= text.length; j++) {
    let ch = j < text.length ? text.charCodeAt(j) : 32
    if (ch >= 65 && ch <= 90) ch |= 32
    if ((ch >= 97 && ch <= 122) || (ch >= 48 && ch <= 57)) {
      if (start < 0) {
        start = j
        h = FNV_OFFSET
      }
      h = Math.imul(h ^ ch, FNV_PRIME)
      continue
    }
    if (start >= 0 && !inFence) {
      const numeric = text.charCodeAt(start) <= 57 && /^\d+(?:k|m|tb|gb)$/i.test(text.slice(start, j))
      const phrase = PHRASE_STARTS.has(prev) ? INTENT_LOOKUP.get(hashPair(prev, h)) : undefined
      const kind = phrase ?? INTENT_LOOKUP.get(h) ?? (numeric ? 'scale' : undefined)
      if (kind) out[kind]++
      prev = h
    }
    start = -1
    if (ch === 96 && text.charCodeAt(j + 1) === 96 && text.charCodeAt(j + 2) === 96) {
      inFence = !inFence
      j += 2
    }
  }
  return out
}

const QUESTION_START = /^(?:what|how|why|when|where|which|who|is|are|can|could|does|do|should)\b/i

const count = (re: RegExp, text: string) => {
  re.lastIndex = 0
  let n = 0
  while (re.test(text)) n++
  return n
}

/**
 * How much of a conversation the content features read. Past it the cost stops growing: text is read only from the
 * system prompt, the first user message (the task statement) and the last `maxMessages` messages, within fixed
 * character budgets; the totals (tokens, depth) are sums of message lengths and roles, which read no text.
 */
export interface ScanLimits {
  readonly maxMessages: number
  /** Guess the language of unfenced code from line signatures (scanCode). */
  readonly guessUnfenced: boolean
}
export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxMessages: 8, guessUnfenced: true }

/** Character budgets of the scans (a single prompt reads its first this-many characters, as before the window). */
const CODE_BUDGET = 6000
const STRUCTURE_BUDGET = 4000
const ASK_BUDGET = 3000
const CONTEXT_BUDGET = 2000

/**
 * The messages the content features read, most important first: the prompt (the last user message), the system prompt
 * (the first system message), the first user message, then the others of the last `maxMessages` messages, newest first.
 */
export function windowMessages(messages: ChatRequest['messages'], prompt: number, maxMessages: number): number[] {
  const out: number[] = []
  const push = (i: number) => {
    if (i >= 0 && !out.includes(i)) out.push(i)
  }
  push(prompt)
  let system = -1
  let firstUser = -1
  for (let i = 0; i < messages.length && (system < 0 || firstUser < 0); i++) {
    const role = messages[i]!.role
    if (role === 'system' && system < 0) system = i
    else if (role === 'user' && firstUser < 0) firstUser = i
  }
  push(system)
  push(firstUser)
  for (let i = messages.length - 1; i >= 0 && i >= messages.length - maxMessages; i--) push(i)
  return out
}

/** Prefixes of the window's messages (those `keep` accepts), at most `budget` characters in all, in conversation order. */
function budgeted(messages: ChatRequest['messages'], window: readonly number[], budget: number, keep: (i: number) => boolean): string {
  const taken: [number, number][] = []
  let left = budget
  for (const i of window) {
    if (left <= 0) break
    if (!keep(i)) continue
    const n = Math.min(messages[i]!.content.length, left)
    taken.push([i, n])
    left -= n
  }
  if (taken.length === 1) {
    const [i, n] = taken[0]!
    const text = messages[i]!.content
    return n === text.length ? text : text.slice(0, n)
  }
  return taken.sort((a, b) => a[0] - b[0]).map(([i, n]) => messages[i]!.content.slice(0, n)).join('\n\n')
}

/** Extract the features from the whole request: every message's size and role, and the text of the window above. */
export function extractFeatures(req: Pick<ChatRequest, 'messages' | 'tools'>, limits: ScanLimits = DEFAULT_SCAN_LIMITS): RequestFeatures {
  const { messages } = req
  const lastUser = lastUserIndex(req)
  // The prompt is the last user message (the last message when there is none).
  const at = lastUser >= 0 ? lastUser : messages.length - 1
  let systemChars = 0
  let chars = 0
  let depth = 0
  let hasSystem = false
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    if (m.role === 'system') {
      hasSystem = true
      systemChars += m.content.length
    } else if (i < lastUser) depth++
    chars += m.content.length
  }
  const prompt = messages[at]?.content ?? ''
  const window = windowMessages(messages, at, limits.maxMessages)
  const readable = (i: number) => i === at || messages[i]!.role !== 'system'
  const codeText = budgeted(messages, window, CODE_BUDGET, readable)
  const scan = budgeted(messages, window, STRUCTURE_BUDGET, readable)
  const contextText = budgeted(messages, window, CONTEXT_BUDGET, (i) => i !== at && readable(i))
  const code = scanCode(codeText, limits.guessUnfenced)
  const files = scanFiles(scan)
  const ask = prompt.length > ASK_BUDGET ? prompt.slice(0, ASK_BUDGET) : prompt
  const trimmed = prompt.trim()
  // Lines are counted in the code window and scaled to the whole conversation (exact when the window holds it all).
  const textChars = chars - systemChars + (messages[at]?.role === 'system' ? prompt.length : 0)
  const windowLines = codeText === '' ? 0 : countNewlines(codeText, 0, codeText.length) + 1
  const lines = codeText.length >= textChars || codeText === '' ? windowLines : Math.round((windowLines * textChars) / codeText.length)
  return {
    tokens: Math.ceil(chars / 4),
    promptTokens: Math.ceil(prompt.length / 4),
    codeBlocks: code.blocks,
    codeShare: codeText.length === 0 ? 0 : Math.min(1, code.chars / codeText.length),
    lines,
    functions: count(FUNCTION_DEF, scan),
    classes: count(CLASS_DEF, scan),
    files: files.references,
    depth,
    systemTokens: Math.ceil(systemChars / 4),
    imperatives: count(IMPERATIVE, ask),
    constraints: count(CONSTRAINT, ask),
    examples: count(EXAMPLE, ask),
    bullets: count(BULLET, ask),
    question: trimmed.endsWith('?') || (QUESTION_START.test(trimmed) && trimmed.length < 300),
    intent: countIntent(ask),
    contextTokens: Math.ceil((textChars - prompt.length) / 4),
    contextIntent: countIntent(contextText),
    languages: code.languages,
    unfencedLanguages: code.unfenced.filter((l) => !code.languages.includes(l)),
    codeLines: code.fencedLines,
    filePaths: files.paths,
    fileExtensions: files.extensions,
    tools: req.tools ?? 0,
    hasSystem,
  }
}

/** The features as a fixed-order numeric vector (log-scaled counts), the learned model's dense inputs. */
export const DENSE_FEATURE_NAMES = [
  'log-tokens', 'log-prompt-tokens', 'code-share', 'code-blocks', 'lines', 'functions', 'classes', 'files', 'depth',
  'system-tokens', 'imperatives', 'constraints', 'examples', 'bullets', 'question',
  ...INTENT_KINDS.map((k) => `intent-${k}` as const),
  // The conversation around the prompt: earlier turns, code languages, files, tool definitions, the system prompt.
  'log-context-tokens', 'code-languages', 'code-lines', 'file-paths', 'tools', 'system',
  ...INTENT_KINDS.map((k) => `context-intent-${k}` as const),
] as const

export function denseFeatures(f: RequestFeatures): number[] {
  const l = (n: number) => Math.log1p(n)
  return [
    l(f.tokens) / 4, l(f.promptTokens) / 4, f.codeShare, l(f.codeBlocks), l(f.lines) / 2, l(f.functions), l(f.classes),
    l(f.files), l(f.depth), l(f.systemTokens) / 4, l(f.imperatives), l(f.constraints), l(f.examples), l(f.bullets),
    f.question ? 1 : 0, ...INTENT_KINDS.map((k) => l(f.intent[k])),
    l(f.contextTokens) / 4, l(f.languages.length + f.unfencedLanguages.length), l(f.codeLines) / 2, l(f.filePaths),
    l(f.tools), f.hasSystem ? 1 : 0, ...INTENT_KINDS.map((k) => l(f.contextIntent[k])),
  ]
}
