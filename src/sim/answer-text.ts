/** The text of a simulated answer: prose of a length that fits the prompt, a code block when code was asked, or one of the failure shapes. */
import { breakCode, codeFor } from './code-blocks.ts'
import { createPicker, type Picker } from './draws.ts'
import type { CodeLanguage, PromptTraits } from './prompt-traits.ts'
import type { FailureKind } from './quality.ts'

export interface Answer {
  readonly text: string
  /** 'length' when the answer stops short on its own (a truncated answer), as if it had hit a limit. */
  readonly doneReason: 'stop' | 'length'
}

/** How many more lines an answer gets when the prompt asks for a full, detailed or step-by-step one. */
const DETAIL_SCALE = 4

interface Slots {
  readonly t1: string
  readonly t2: string
  readonly lang: string
  readonly unit: string
}

type Sentence = (s: Slots) => string

const CODE_OPENERS: readonly Sentence[] = [
  (s) => `Here is a ${s.lang} ${s.unit} for the ${s.t1}.`,
  (s) => `Below is a ${s.lang} version that handles the ${s.t1} and the ${s.t2}.`,
  (s) => `This ${s.lang} ${s.unit} does what you asked for the ${s.t1}.`,
  (s) => `Sure, here is one way to write it in ${s.lang}.`,
]
const PROSE_OPENERS: readonly Sentence[] = [
  (s) => `Here is an overview of the ${s.t1}.`,
  (s) => `The short version is that the ${s.t1} depends mostly on the ${s.t2}.`,
  (s) => `Good question: the ${s.t1} is easier to reason about than it looks.`,
  (s) => `It helps to look at the ${s.t1} and the ${s.t2} separately.`,
]
const SHORT_ANSWERS: readonly Sentence[] = [
  (s) => `It depends on the ${s.t1}, but in most cases the ${s.t2} matters more.`,
  (s) => `In short, the ${s.t1} is a way to keep the ${s.t2} consistent.`,
  (s) => `Usually yes, as long as the ${s.t1} is checked first.`,
  (s) => `The ${s.t1} is what decides it; the ${s.t2} only changes the details.`,
]
const BODY: readonly Sentence[] = [
  (s) => `It checks the ${s.t1} first, so empty input returns early.`,
  (s) => `Each ${s.t1} is processed once, which keeps the work linear in the size of the input.`,
  (s) => `The ${s.t2} stays separate from the ${s.t1}, so each part can be tested on its own.`,
  () => 'Errors are reported with a clear message instead of being silently ignored.',
  (s) => `If the ${s.t1} is large, the ${s.t2} step dominates, so it runs in a single pass.`,
  (s) => `The ${s.t1} follows the usual conventions, so nothing about it should surprise a reader.`,
  (s) => `Edge cases such as an empty ${s.t1} or a missing ${s.t2} are handled explicitly.`,
  (s) => `A small cache avoids recomputing the ${s.t1} when the same ${s.t2} comes up again.`,
  (s) => `The order of the ${s.t1} is preserved, which callers usually rely on.`,
  (s) => `Nothing here depends on global state, so the ${s.t2} logic is safe to reuse.`,
  (s) => `Keeping the ${s.t1} immutable makes the behaviour easier to follow.`,
  (s) => `The ${s.t2} is validated at the boundary and trusted afterwards.`,
  (s) => `The ${s.t1} handling is kept small on purpose, so it is easy to change later.`,
  (s) => `Invalid ${s.t2} values are rejected early with a message that says which one failed.`,
  (s) => `For a large ${s.t1}, streaming the input keeps memory use flat.`,
  (s) => `Tests cover the empty case, a single ${s.t1}, and a realistic mix.`,
  (s) => `The ${s.t2} is computed lazily, only when something asks for it.`,
  (s) => `Most of the time goes into reading the ${s.t1}; everything after that is cheap by comparison.`,
  (s) => `If you need concurrency later, the ${s.t1} step can run per shard without changes.`,
  (s) => `Logging stays at the edges, so the core ${s.t2} logic remains pure.`,
  () => 'Sorting happens once at the end rather than on every insert.',
  (s) => `Configuration for the ${s.t2} lives in one place instead of being scattered around.`,
  (s) => `A missing ${s.t1} is treated as empty rather than as an error.`,
  (s) => `The public surface is small: one entry point for the ${s.t1} and one for the ${s.t2}.`,
]
const CLOSERS: readonly Sentence[] = [
  (s) => `Let me know if you want tests for the ${s.t1} as well.`,
  (s) => `You can adapt the ${s.t2} handling if your input differs.`,
  (s) => `This should be a good starting point for the ${s.t1}.`,
  () => 'I can also walk through the trade-offs in more detail if that helps.',
]
const REFUSALS = [
  "I'm sorry, but as an AI language model I can't help with that.",
  "I'm sorry, but I can't assist with that request.",
  'As an AI language model, I am unable to provide that. Is there anything else I can help you with?',
  'I apologize, but I cannot help with this request.',
  "Sorry, I can't do that. As an AI language model, I don't have the ability to complete this task.",
] as const
const LOOP_PHRASES = ['and then we check the value again', 'the result is the result', 'let me fix that', 'wait, '] as const

const UNIT_WORDS: Readonly<Record<CodeLanguage, string>> = {
  python: 'function', typescript: 'function', javascript: 'function', json: 'document', go: 'package', rust: 'module',
  java: 'class', sql: 'query', bash: 'script', c: 'function', cpp: 'class', csharp: 'class', kotlin: 'function',
  swift: 'function', ruby: 'method', php: 'function',
}
const LANGUAGE_NAMES: Readonly<Record<CodeLanguage, string>> = {
  python: 'Python', typescript: 'TypeScript', javascript: 'JavaScript', json: 'JSON', go: 'Go', rust: 'Rust', java: 'Java',
  sql: 'SQL', bash: 'Bash', c: 'C', cpp: 'C++', csharp: 'C#', kotlin: 'Kotlin', swift: 'Swift', ruby: 'Ruby', php: 'PHP',
}

/** One piece per word with the whitespace before it, so the pieces join back to exactly the text. */
export function splitPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? []
}

function slotsFor(traits: PromptTraits, picker: Picker): () => Slots {
  const topics = traits.topics.length > 0 ? traits.topics : ['input', 'result', 'value']
  return () => {
    const t1 = picker.pick(topics)
    const others = topics.filter((t) => t !== t1)
    return {
      t1,
      t2: others.length > 0 ? picker.pick(others) : 'result',
      lang: LANGUAGE_NAMES[traits.language],
      unit: UNIT_WORDS[traits.language],
    }
  }
}

/** The body sentences in a shuffled order: an answer never says the same one twice (it runs out first). */
function createDeck(picker: Picker): Sentence[] {
  const deck = [...BODY]
  for (let i = deck.length - 1; i > 0; i--) {
    const j = picker.int(0, i)
    const held = deck[i]!
    deck[i] = deck[j]!
    deck[j] = held
  }
  return deck
}

/** Up to `count` sentences off the deck, as one paragraph or as numbered steps. */
function body(deck: Sentence[], slots: () => Slots, count: number, steps: boolean): string {
  const sentences = deck.splice(0, count).map((sentence) => sentence(slots()))
  return steps ? sentences.map((sentence, i) => `${i + 1}. ${sentence}`).join('\n') : sentences.join(' ')
}

function goodText(model: string, traits: PromptTraits, picker: Picker, broken: boolean): string {
  const slots = slotsFor(traits, picker)
  if (traits.shortQuestion && !traits.detailed) {
    const extra = picker.unit() < 0.5 ? ` ${picker.pick(BODY)(slots())}` : ''
    return `[${model}] ${picker.pick(SHORT_ANSWERS)(slots())}${extra}`
  }
  const scale = traits.detailed ? DETAIL_SCALE : 1
  const steps = traits.stepByStep
  const deck = createDeck(picker)
  if (!traits.asksCode) {
    const paragraphs = Array.from({ length: scale * picker.int(1, 2) }, () => body(deck, slots, picker.int(2, 3), steps)).filter(Boolean)
    return `[${model}] ${picker.pick(PROSE_OPENERS)(slots())} ${paragraphs.join('\n\n')}\n\n${picker.pick(CLOSERS)(slots())}`
  }
  const intro = body(deck, slots, scale * picker.int(1, 2), steps)
  // One unit of code, two for a prompt that joins several demands, four for a full or detailed one.
  const size = traits.detailed ? DETAIL_SCALE : traits.joins + traits.parts >= 2 ? 2 : 1
  const code = codeFor(traits.language, picker, size)
  const block = `\`\`\`${traits.language}\n${broken ? breakCode(code, picker) : code}\n\`\`\``
  const outro = `${body(deck, slots, scale * picker.int(1, 2), false)} ${picker.pick(CLOSERS)(slots())}`
  return `[${model}] ${picker.pick(CODE_OPENERS)(slots())}${steps ? '\n\n' : ' '}${intro}\n\n${block}\n\n${outro}`
}

/** Cut somewhere between 30% and 70% of the words, never right after a sentence or a block ends. */
function truncate(text: string, picker: Picker): Answer {
  const pieces = splitPieces(text)
  let cut = Math.max(2, Math.floor(pieces.length * (0.3 + 0.4 * picker.unit())))
  while (cut < pieces.length - 1 && /[.!?:]$|```$/.test(pieces[cut - 1] ?? '')) cut++
  return { text: pieces.slice(0, Math.min(cut, pieces.length - 1)).join(''), doneReason: 'length' }
}

function loopText(model: string, traits: PromptTraits, picker: Picker): string {
  const slots = slotsFor(traits, picker)
  const opener = (traits.asksCode ? picker.pick(CODE_OPENERS) : picker.pick(PROSE_OPENERS))(slots())
  const repeats = picker.int(12, 30)
  if (picker.unit() < 0.5) {
    const sentence = picker.pick(BODY)(slots())
    return `[${model}] ${opener} ${Array.from({ length: repeats }, () => sentence).join(' ')}`
  }
  const phrase = picker.pick(LOOP_PHRASES)
  return `[${model}] ${opener} ${Array.from({ length: repeats }, () => phrase).join(phrase.endsWith(' ') ? '' : ' ')}`
}

/** The answer `model` gives a prompt with these traits: good when `kind` is undefined, else that failure's shape. */
export function composeAnswer(model: string, traits: PromptTraits, kind: FailureKind | undefined): Answer {
  const picker = createPicker(`answer\n${model}\n${traits.text}`)
  switch (kind) {
    case undefined:
      return { text: goodText(model, traits, picker, false), doneReason: 'stop' }
    case 'empty':
      return { text: picker.pick(['', '\n', ' \n\n']), doneReason: 'stop' }
    case 'refusal':
      return { text: `[${model}] ${picker.pick(REFUSALS)}`, doneReason: 'stop' }
    case 'loop':
      return { text: loopText(model, traits, picker), doneReason: 'stop' }
    case 'truncated':
      return truncate(goodText(model, traits, picker, false), picker)
    case 'broken-code':
      return { text: goodText(model, traits, picker, true), doneReason: 'stop' }
  }
}
