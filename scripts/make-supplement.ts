/** Writes the coverage-gap supplement (train and held-out-phrasing test JSONL) from templates x fillers, deterministically. */
import { parseArgs } from 'node:util'
import type { TaskClass } from 'switchyard/plugin'
import { createRandom } from '../plugins/learned-classifier/train.ts'
import { POOLS, RACY_SNIPPETS, SNIPPETS, TEMPLATES } from './supplement-templates.ts'
import type { Snippet, Template } from './supplement-templates.ts'
import { messageOf } from '../src/errors.ts'

const USAGE = `usage: bun scripts/make-supplement.ts [--out-dir DIR] [--seed N]
  writes DIR/supplement.jsonl (train templates) and DIR/supplement-test.jsonl (test templates);
  default DIR plugins/learned-classifier, seed 1`

export interface SupplementRow {
  readonly id: string
  readonly prompt: string
  readonly label: TaskClass
  readonly task: string
  readonly source: 'switchyard-supplement'
  readonly license: 'MIT'
  readonly source_label: string
}

/** Rows per template: enough fillers to vary the wording around the template, few enough that no template dominates. */
const ROWS_PER_TEMPLATE = { train: 7, test: 5 } as const
const LONG_ROWS_PER_TEMPLATE = { train: 5, test: 4 } as const

/** Fillers are split too (every third item is test-only), so test rows differ in phrasing and in subjects. */
const half = <T>(pool: readonly T[], split: Template['split']): T[] => pool.filter((_, i) => (i % 3 === 2) === (split === 'test'))

const pick = <T>(pool: readonly T[], random: () => number): T => pool[Math.floor(random() * pool.length)]!

const fenced = (s: Snippet) => `\`\`\`${s.fence}\n${s.code}\n\`\`\``

const VERBS = ['load', 'parse', 'merge', 'schedule', 'dispatch', 'validate', 'retry', 'flush', 'resolve', 'render', 'collect', 'drain']
const NOUNS = ['job', 'task', 'queue', 'worker', 'lease', 'batch', 'shard', 'timer', 'token', 'event', 'record', 'slot']

/** A long Python module (45-75 small functions, 350-600 lines) whose size is context, not difficulty. */
function longModule(random: () => number): { code: string; fn: string; v: string } {
  const n = 45 + Math.floor(random() * 30)
  const names = new Set<string>()
  while (names.size < n) names.add(`${pick(VERBS, random)}_${pick(NOUNS, random)}${names.size % 7 === 0 ? `_${names.size}` : ''}`)
  const fns = [...names]
  const body = fns.map((name, i) => {
    const arg = pick(NOUNS, random)
    const log = random() < 0.3 ? `\n    log.debug("${name.replace(/_/g, ' ')} done")` : ''
    return `def ${name}(${arg}, timeout=${1 + (i % 9)}):\n    with LOCK:\n        pending = ${arg}.items[:${2 + (i % 5)}]\n`
      + `    if not pending:\n        return None${log}\n    return [p for p in pending if p.ready]`
  })
  const code = `\`\`\`python\nimport logging\nimport threading\n\nLOCK = threading.Lock()\nlog = logging.getLogger(__name__)\n\n${body.join('\n\n\n')}\n\`\`\``
  return { code, fn: pick(fns, random), v: 'pending' }
}

/** Fill one template; `{name}` slots come from the split's half of each pool. */
function fill(t: Template, random: () => number): string {
  const snippet = pick(half(SNIPPETS, t.split), random)
  const racy = pick(half(RACY_SNIPPETS, t.split), random)
  const big = t.text.includes('{bigcode}') ? longModule(random) : undefined
  const names: Record<string, string> = {
    snippet: fenced(snippet), racy: fenced(racy), lang: t.text.includes('{racy}') ? racy.lang : snippet.lang,
    fn: big?.fn ?? snippet.fn, v: big?.v ?? snippet.v, bigcode: big?.code ?? '',
  }
  return t.text.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (names[name] !== undefined) return names[name]
    const pool = POOLS[name]
    if (!pool) throw new Error(`template ${t.id}: unknown slot {${name}}`)
    const choices = half(pool, t.split).filter((x) => name !== 'lang2' || x !== names.lang)
    return pick(choices, random)
  })
}

/** Generate both files' rows; the same seed gives the same rows. */
export function generateSupplement(seed = 1): { train: SupplementRow[]; test: SupplementRow[] } {
  const random = createRandom(seed)
  const out = { train: [] as SupplementRow[], test: [] as SupplementRow[] }
  const seen = new Set<string>()
  for (const t of TEMPLATES) {
    const want = (t.text.includes('{bigcode}') ? LONG_ROWS_PER_TEMPLATE : ROWS_PER_TEMPLATE)[t.split]
    let made = 0
    for (let attempt = 0; made < want && attempt < want * 20; attempt++) {
      const prompt = fill(t, random)
      if (seen.has(prompt)) continue
      seen.add(prompt)
      made++
      out[t.split].push({
        id: `supplement-${t.id}-${made}`, prompt, label: t.label, task: `supplement:${t.task}`,
        source: 'switchyard-supplement', license: 'MIT', source_label: t.id,
      })
    }
    if (made < want) throw new Error(`template ${t.id}: only ${made} distinct rows from its fillers`)
  }
  return out
}

type Splits = { train: readonly { label: TaskClass }[]; test: readonly { label: TaskClass }[] }

/** A generator script's CLI: `--out-dir DIR --seed N`, then both split files written by writeSplits; errors exit 1. */
export function runGeneratorCli(name: string, noun: string, usage: string, generate: (seed: number) => Splits): void {
  const main = async () => {
    const { values } = parseArgs({
      options: { 'out-dir': { type: 'string', default: 'plugins/learned-classifier' }, seed: { type: 'string', default: '1' }, help: { type: 'boolean' } },
    })
    if (values.help) return console.log(usage)
    await writeSplits(values['out-dir'], name, noun, generate(Number(values.seed)))
  }
  main().catch((err: unknown) => {
    console.error(`make-${name}: ${messageOf(err)}`)
    process.exit(1)
  })
}

/** Writes `NAME.jsonl` (train) and `NAME-test.jsonl` (test) into `dir` and says how many rows of each class went where. */
export async function writeSplits(outDir: string, name: string, noun: string, splits: Splits): Promise<void> {
  const dir = outDir.replace(/\/$/, '')
  const count = (rows: readonly { label: TaskClass }[]) => (['SIMPLE', 'MODERATE', 'COMPLEX'] as const).map((c) => rows.filter((r) => r.label === c).length).join(' / ')
  for (const [split, file] of [['train', `${name}.jsonl`], ['test', `${name}-test.jsonl`]] as const) {
    const rows = splits[split]
    await Bun.write(`${dir}/${file}`, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`)
    console.log(`${name}: ${rows.length} ${split} ${noun} (S / M / C ${count(rows)}) -> ${dir}/${file}`)
  }
}

if (import.meta.main) runGeneratorCli('supplement', 'rows', USAGE, generateSupplement)
