/** Request features (size, code, structure, constraints) shared by the heuristic and learned classifiers. */
import { type ChatRequest, lastUserIndex } from 'switchyard/plugin'

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
}

export const INTENT_KINDS = ['design', 'restructure', 'concurrency', 'scale', 'security', 'edit', 'implement'] as const
export type IntentKind = (typeof INTENT_KINDS)[number]

const FENCE = /```[\s\S]*?(?:```|$)/g
const FUNCTION_DEF = /\b(?:def|function|func|fn)\s+\w+\s*\(|\b(?:public|private|protected|static)\s+\w[\w<>[\]]*\s+\w+\s*\(|=>/g
const CLASS_DEF = /\bclass\s+[A-Z]\w*|\binterface\s+[A-Z]\w*|\bstruct\s+[A-Z]\w*/g
const FILE_REF = /\w\.(?:py|ts|tsx|js|jsx|go|rs|java|kt|c|cc|cpp|h|hpp|cs|rb|php|swift|sql|json|ya?ml|toml|md|sh|html|css)\b/g
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
const CODE_LINE = /^(?: {4}|\t)\S|[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|const|let|var|public|private)\b.*[:({=]/

const count = (re: RegExp, text: string) => {
  re.lastIndex = 0
  let n = 0
  while (re.exec(text)) n++
  return n
}

/** Characters that look like code: fenced blocks plus code-looking lines outside them. */
function codeCharacters(text: string): { blocks: number; chars: number } {
  let blocks = 0
  let chars = 0
  const prose = text.replace(FENCE, (block) => {
    blocks++
    chars += block.length
    return '\n'
  })
  for (const line of prose.split('\n')) if (line.trim() !== '' && CODE_LINE.test(line)) chars += line.length
  return { blocks, chars }
}

/** Extract the features from the whole request: every message, the system prompt and the turn count. */
export function extractFeatures(req: Pick<ChatRequest, 'messages'>): RequestFeatures {
  const lastUser = lastUserIndex(req)
  let systemChars = 0
  let chars = 0
  req.messages.forEach((m) => {
    if (m.role === 'system') systemChars += m.content.length
    chars += m.content.length
  })
  const prompt = req.messages[lastUser]?.content ?? req.messages.at(-1)?.content ?? ''
  const text = req.messages.length === 1 ? prompt : req.messages.filter((m) => m.role !== 'system').map((m) => m.content).join('\n\n')
  // Counting regexes read a bounded prefix: past a few thousand characters more text changes nothing but latency.
  const code = codeCharacters(text.length > 6000 ? text.slice(0, 6000) : text)
  const scan = text.length > 4000 ? text.slice(0, 4000) : text
  const ask = prompt.length > 3000 ? prompt.slice(0, 3000) : prompt
  const trimmed = prompt.trim()
  const intent = countIntent(ask)
  return {
    tokens: Math.ceil(chars / 4),
    promptTokens: Math.ceil(prompt.length / 4),
    codeBlocks: code.blocks,
    codeShare: text.length === 0 ? 0 : Math.min(1, code.chars / Math.min(text.length, 6000)),
    lines: text === '' ? 0 : count(/\n/g, text) + 1,
    functions: count(FUNCTION_DEF, scan),
    classes: count(CLASS_DEF, scan),
    files: count(FILE_REF, scan),
    depth: Math.max(0, req.messages.filter((m, i) => m.role !== 'system' && i < lastUser).length),
    systemTokens: Math.ceil(systemChars / 4),
    imperatives: count(IMPERATIVE, ask),
    constraints: count(CONSTRAINT, ask),
    examples: count(EXAMPLE, ask),
    bullets: count(BULLET, ask),
    question: trimmed.endsWith('?') || (QUESTION_START.test(trimmed) && trimmed.length < 300),
    intent,
  }
}

/** The features as a fixed-order numeric vector (log-scaled counts), the learned model's dense inputs. */
export const DENSE_FEATURE_NAMES = [
  'log-tokens', 'log-prompt-tokens', 'code-share', 'code-blocks', 'lines', 'functions', 'classes', 'files', 'depth',
  'system-tokens', 'imperatives', 'constraints', 'examples', 'bullets', 'question',
  ...INTENT_KINDS.map((k) => `intent-${k}` as const),
] as const

export function denseFeatures(f: RequestFeatures): number[] {
  const l = (n: number) => Math.log1p(n)
  return [
    l(f.tokens) / 4, l(f.promptTokens) / 4, f.codeShare, l(f.codeBlocks), l(f.lines) / 2, l(f.functions), l(f.classes),
    l(f.files), l(f.depth), l(f.systemTokens) / 4, l(f.imperatives), l(f.constraints), l(f.examples), l(f.bullets),
    f.question ? 1 : 0, ...INTENT_KINDS.map((k) => l(f.intent[k])),
  ]
}
