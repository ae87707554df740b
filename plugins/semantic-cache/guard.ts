/** Facts two prompts must share before a semantic hit: identifiers, numbers, negations and antonym choices. */

export interface PromptFacts {
  /** Code identifiers, quoted/backticked text and proper nouns, in order of first appearance. */
  readonly identifiers: readonly string[]
  readonly numbers: readonly string[]
  /** Negations and antonym-pair words, as canonical tokens (a sorted set). */
  readonly polarity: readonly string[]
}

/** Each group is one side of an antonym pair; synonyms within a side share its token. */
const POLARITY_GROUPS: readonly (readonly string[])[] = [
  ['enable', 'activate', 'allow', 'turn-on', 'switch-on'], ['disable', 'deactivate', 'deny', 'block', 'prevent', 'turn-off', 'switch-off'],
  ['add', 'insert', 'append', 'include', 'create'], ['remove', 'delete', 'drop', 'exclude', 'destroy', 'strip'],
  ['install'], ['uninstall'],
  ['increase', 'raise', 'grow', 'more', 'larger', 'bigger', 'higher', 'greater'], ['decrease', 'reduce', 'shrink', 'less', 'fewer', 'smaller', 'lower'],
  ['max', 'maximum', 'largest', 'biggest', 'highest', 'most', 'longest'], ['min', 'minimum', 'smallest', 'lowest', 'least', 'shortest'],
  ['ascending', 'asc'], ['descending', 'desc', 'reverse'],
  ['uppercase', 'upper'], ['lowercase'],
  ['start', 'begin', 'launch'], ['stop', 'end', 'halt', 'kill'],
  ['open'], ['close'], ['connect'], ['disconnect'], ['lock'], ['unlock'], ['show', 'display'], ['hide'],
  ['encode'], ['decode'], ['encrypt'], ['decrypt'], ['compress', 'zip'], ['decompress', 'unzip'],
  ['serialize'], ['deserialize'], ['import'], ['export'], ['upload'], ['download'], ['push'], ['pull'],
  ['before'], ['after'], ['first'], ['last'], ['left'], ['right'], ['true'], ['false'],
  ['sync', 'synchronous'], ['async', 'asynchronous'], ['valid'], ['invalid'], ['public'], ['private'],
  ['read'], ['write'], ['input'], ['output'], ['send'], ['receive'], ['accept'], ['reject'],
  ['best', 'fastest'], ['worst', 'slowest'], ['faster'], ['slower'], ['mutable'], ['immutable'],
  ['horizontal', 'horizontally'], ['vertical', 'vertically'], ['inner'], ['outer'], ['encrypted'], ['plaintext'],
]

const NEGATIONS = ['not', 'no', 'never', 'without', 'cannot', 'none', 'nothing', 'nor', 'neither']

/** enable -> enable, enables, enabled, enabling (and the like for other verbs and adjectives). */
function forms(base: string): string[] {
  const stem = base.endsWith('e') ? base.slice(0, -1) : base
  return [base, `${base}s`, `${base}es`, `${stem}ed`, `${stem}ing`, `${base}d`]
}

function createPolarityMap(): Map<string, string> {
  const map = new Map<string, string>()
  for (const group of POLARITY_GROUPS) {
    const token = group[0] as string
    for (const word of group) for (const form of forms(word)) if (!map.has(form)) map.set(form, token)
  }
  for (const word of NEGATIONS) map.set(word, 'not')
  return map
}

const PATTERNS = {
  quoted: /`([^`]+)`|"([^"\n]{1,80})"|(?<!\w)'([^'\n]{2,80})'(?!\w)/g,
  dotted: /\b[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+\b(?:\(\))?/g,
  snake: /\b[A-Za-z0-9]*_[A-Za-z0-9_]+\b/g,
  camel: /\b[a-z]+[A-Z][A-Za-z0-9]*\b/g,
  pascal: /\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b/g,
  caps: /\b[A-Z][A-Z0-9]{1,}\b/g,
  flag: /(?:^|\s)(--?[a-z][\w-]*)/g,
  path: /(?:^|\s)((?:\.{0,2}\/)?[\w.-]+\/[\w./-]+)/g,
  number: /(?<![\w.])\d+(?:[.,:]\d+)*(?![\w])/g,
  proper: /(?<![.!?]\s+|^\s*|[.!?]["')]\s+)\b[A-Z][a-z]+(?:'s)?\b/g,
}

const IDENTIFIER_PATTERNS = [
  PATTERNS.quoted, PATTERNS.dotted, PATTERNS.snake, PATTERNS.camel, PATTERNS.pascal, PATTERNS.caps, PATTERNS.flag, PATTERNS.path, PATTERNS.proper,
]

/** Every match (its first capture group when it has one), distinct, in order of appearance. */
function identifiersOf(text: string): string[] {
  const found: { index: number; value: string }[] = []
  for (const re of IDENTIFIER_PATTERNS) {
    for (const m of text.matchAll(re)) {
      const value = (m.slice(1).find((g) => g !== undefined) ?? m[0]).replace(/'s$/, '').trim()
      if (value) found.push({ index: (m.index ?? 0) + m[0].indexOf(value), value })
    }
  }
  found.sort((x, y) => x.index - y.index)
  return [...new Set(found.map((f) => f.value))]
}

export interface FactExtractor {
  facts(text: string): PromptFacts
}

/** Builds the lookup tables once (per plugin setup), not per request. */
export function createFactExtractor(): FactExtractor {
  const polarity = createPolarityMap()
  return {
    facts(text) {
      const identifiers = identifiersOf(text)
      const numbers = [...text.matchAll(PATTERNS.number)].map((m) => m[0])
      const words = text
        .toLowerCase()
        .replace(/n't\b/g, ' not')
        .replace(/\b(turn|switch)(?:ed|ing|s)?\s+(on|off)\b/g, '$1-$2')
        .split(/[^a-z0-9-]+/)
      const tokens = new Set<string>()
      for (const word of words) {
        const token = polarity.get(word)
        if (token) tokens.add(token)
      }
      return { identifiers, numbers, polarity: [...tokens].sort() }
    },
  }
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i])

/** Sets of identifiers compared case-sensitively in order; a different number, negation or antonym blocks a hit. */
export function sameFacts(a: PromptFacts, b: PromptFacts): boolean {
  return same(a.identifiers, b.identifiers) && same(a.numbers, b.numbers) && same(a.polarity, b.polarity)
}
