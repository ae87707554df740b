/** The multi-turn set (scripts/make-multiturn.ts): deterministic, committed as generated, disjoint splits, last messages that do not tell the class. */
import { describe, expect, test } from 'bun:test'
import { generateMultiturn } from '../../scripts/make-multiturn.ts'
import type { MultiturnRow } from '../../scripts/make-multiturn.ts'
import { MULTITURN_POOLS } from '../../scripts/multiturn-templates.ts'
import { POOLS } from '../../scripts/supplement-templates.ts'
import { readRows, rowRequest } from '../../plugins/learned-classifier/dataset.ts'

describe('the multi-turn set', () => {
  test('the same seed gives the same conversations, and the committed files are that output', async () => {
    const a = generateMultiturn(1)
    expect(generateMultiturn(1)).toEqual(a)
    const text = (rows: readonly MultiturnRow[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`
    expect(await Bun.file('plugins/learned-classifier/multiturn.jsonl').text()).toBe(text(a.train))
    expect(await Bun.file('plugins/learned-classifier/multiturn-test.jsonl').text()).toBe(text(a.test))
  })

  test('train and test come from disjoint templates, every class is balanced, and rows are conversations', () => {
    const { train, test: held } = generateMultiturn(1)
    const slot = new RegExp(`\\{(?:${[...Object.keys(MULTITURN_POOLS), ...Object.keys(POOLS)].join('|')})\\}`)
    const trainTemplates = new Set(train.map((r) => r.source_label))
    for (const r of held) expect(trainTemplates.has(r.source_label)).toBe(false)
    for (const rows of [train, held]) {
      const counts = ['SIMPLE', 'MODERATE', 'COMPLEX'].map((label) => rows.filter((r) => r.label === label).length)
      expect(new Set(counts).size).toBe(1)
      for (const r of rows) {
        expect([r.source, r.license]).toEqual(['switchyard-multiturn', 'MIT'])
        expect(r.messages.filter((m) => m.role !== 'system').length).toBeGreaterThanOrEqual(3)
        expect(r.messages.at(-1)).toEqual({ role: 'user', content: r.prompt })
        for (const m of r.messages) expect(m.content).not.toMatch(slot)
      }
    }
  })

  test('the same short follow-ups end COMPLEX and MODERATE conversations', () => {
    const { train } = generateMultiturn(1)
    const byLabel = (label: string) => new Set(train.filter((r) => r.label === label).map((r) => r.prompt.replace(/ (?:in|to) \S+\??$/, '')))
    const complex = byLabel('COMPLEX')
    const shared = [...byLabel('MODERATE')].filter((p) => complex.has(p))
    expect(shared.length).toBeGreaterThanOrEqual(6)
    for (const p of shared) expect(p.length).toBeLessThan(50)
  })

  test('a row with messages is read as that conversation, tools included', async () => {
    const rows = await readRows('plugins/learned-classifier/multiturn-test.jsonl')
    const agent = rows.find((r) => r.tools !== undefined)!
    const req = rowRequest(agent)
    expect(req.messages.length).toBe(agent.messages!.length)
    expect(req.tools).toBe(agent.tools)
    expect(rowRequest({ prompt: 'hi' }).messages).toEqual([{ role: 'user', content: 'hi' }])
  })
})
