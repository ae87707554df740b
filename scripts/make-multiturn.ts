/** Writes the multi-turn set (train and held-out-template test JSONL) from conversation templates x fillers, deterministically. */
import type { TaskClass } from 'switchyard/plugin'
import { createRandom } from '../plugins/learned-classifier/train.ts'
import { AGENT_SYSTEMS, CONVERSATION_TEMPLATES, FOLLOW_UPS, MULTITURN_POOLS, PLAIN_SYSTEMS } from './multiturn-templates.ts'
import type { ConversationTemplate, Filler, Turn } from './multiturn-templates.ts'
import { POOLS, RACY_SNIPPETS, SNIPPETS } from './supplement-templates.ts'
import { runGeneratorCli } from './make-supplement.ts'

const USAGE = `usage: bun scripts/make-multiturn.ts [--out-dir DIR] [--seed N]
  writes DIR/multiturn.jsonl (train templates) and DIR/multiturn-test.jsonl (test templates);
  default DIR plugins/learned-classifier, seed 1`

export interface MultiturnRow {
  readonly id: string
  /** The last user message: all a last-message classifier would read. */
  readonly prompt: string
  readonly messages: readonly { readonly role: string; readonly content: string }[]
  readonly tools?: number
  readonly label: TaskClass
  readonly task: string
  readonly source: 'switchyard-multiturn'
  readonly license: 'MIT'
  readonly source_label: string
}

const ROWS_PER_TEMPLATE = { train: 10, test: 6 } as const

/** Every third item of a pool is test-only, as in the supplement, so test conversations differ in subjects too. */
const half = <T>(pool: readonly T[], split: ConversationTemplate['split']): T[] => pool.filter((_, i) => (i % 3 === 2) === (split === 'test'))

function createFiller(split: ConversationTemplate['split'], random: () => number): Filler {
  const from = <T>(pool: readonly T[]): T => {
    const choices = half(pool, split)
    return choices[Math.floor(random() * choices.length)]!
  }
  const fill = (text: string): string => text.replace(/\{(\w+)\}/g, (_, name: string) => pick(name))
  const pick = (name: string): string => {
    const pool = MULTITURN_POOLS[name] ?? POOLS[name]
    if (!pool) throw new Error(`unknown slot {${name}}`)
    return fill(from(pool))
  }
  const any = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  // Follow-ups are split by template already (FOLLOW_UPS.train / .test) and dealt round-robin from a random start, so
  // each one ends up about as often under every label that uses its list: the last message alone says nothing.
  const edits = FOLLOW_UPS[split].code.filter((t) => !/test|same|\{lang2\}|error|empty|logging|go ahead|do it/.test(t))
  const lists = { code: FOLLOW_UPS[split].code, edit: edits, chat: FOLLOW_UPS[split].chat }
  const dealt = { code: Math.floor(random() * 8), edit: Math.floor(random() * 8), chat: Math.floor(random() * 8) }
  return {
    pick,
    snippet: (language) => {
      const inLanguage = half(SNIPPETS, split).filter((x) => x.fence === language || x.lang === language)
      return inLanguage.length > 0 ? any(inLanguage) : from(SNIPPETS)
    },
    racy: () => from(RACY_SNIPPETS),
    int: (lo, hi) => lo + Math.floor(random() * (hi - lo + 1)),
    chance: (p) => random() < p,
    followUp: (kind) => fill(lists[kind][dealt[kind]++ % lists[kind].length]!),
    plainSystem: (): Turn[] => (random() < 0.5 ? [] : [['system', from(PLAIN_SYSTEMS)]]),
    agentSystem: (): Turn[] => [['system', from(AGENT_SYSTEMS)]],
  }
}

/** Generate both files' rows; the same seed gives the same rows. */
export function generateMultiturn(seed = 1): { train: MultiturnRow[]; test: MultiturnRow[] } {
  const random = createRandom(seed)
  const out = { train: [] as MultiturnRow[], test: [] as MultiturnRow[] }
  const seen = new Set<string>()
  for (const t of CONVERSATION_TEMPLATES) {
    const want = ROWS_PER_TEMPLATE[t.split]
    const filler = createFiller(t.split, random)
    let made = 0
    for (let attempt = 0; made < want && attempt < want * 20; attempt++) {
      const { turns, tools } = t.build(filler)
      const last = turns.at(-1)
      if (!last || last[0] !== 'user') throw new Error(`template ${t.id}: the last turn must be a user message`)
      const messages = turns.map(([role, content]) => ({ role, content }))
      const key = JSON.stringify(messages)
      if (seen.has(key)) continue
      seen.add(key)
      made++
      out[t.split].push({
        id: `multiturn-${t.id.slice(3)}-${made}`, prompt: last[1], messages, ...(tools !== undefined && { tools }), label: t.label,
        task: `multiturn:${t.task}`, source: 'switchyard-multiturn', license: 'MIT', source_label: t.id,
      })
    }
    if (made < want) throw new Error(`template ${t.id}: only ${made} distinct conversations from its fillers`)
  }
  return out
}

if (import.meta.main) runGeneratorCli('multiturn', 'conversations', USAGE, generateMultiturn)
