/** scripts/make-supplement.ts: deterministic rows, disjoint train/test phrasings, and the committed files match it. */
import { describe, expect, test } from 'bun:test'
import { generateSupplement } from '../../scripts/make-supplement.ts'
import { POOLS } from '../../scripts/supplement-templates.ts'

const committed = async (name: string) =>
  (await Bun.file(`plugins/learned-classifier/${name}`).text()).trim().split('\n').map((l) => JSON.parse(l) as { prompt: string })

describe('scripts/make-supplement.ts', () => {
  test('the same seed gives the same rows, and the committed files are that output', async () => {
    const a = generateSupplement(1)
    expect(generateSupplement(1)).toEqual(a)
    expect((await committed('supplement.jsonl')).map((r) => r.prompt)).toEqual(a.train.map((r) => r.prompt))
    expect((await committed('supplement-test.jsonl')).map((r) => r.prompt)).toEqual(a.test.map((r) => r.prompt))
  })

  test('train and test rows come from disjoint templates, cover every class, and carry the project license', () => {
    const { train, test: held } = generateSupplement(1)
    const templates = (rows: typeof train) => new Set(rows.map((r) => r.source_label))
    const trainTemplates = templates(train)
    for (const t of templates(held)) expect(trainTemplates.has(t)).toBe(false)
    for (const rows of [train, held]) {
      for (const label of ['SIMPLE', 'MODERATE', 'COMPLEX'] as const) expect(rows.filter((r) => r.label === label).length).toBeGreaterThan(30)
      for (const r of rows) expect([r.source, r.license]).toEqual(['switchyard-supplement', 'MIT'])
    }
    const prompts = [...train, ...held].map((r) => r.prompt)
    expect(new Set(prompts).size).toBe(prompts.length)
    expect(prompts.length).toBeGreaterThanOrEqual(300)
    expect(prompts.length).toBeLessThanOrEqual(500)
  })

  test('no unfilled slot is left in any prompt', () => {
    const { train, test: held } = generateSupplement(1)
    const slots = new RegExp(`\\{(?:${[...Object.keys(POOLS), 'snippet', 'racy', 'bigcode', 'lang', 'fn', 'v'].join('|')})\\}`)
    for (const r of [...train, ...held]) expect(r.prompt).not.toMatch(slots)
  })
})
