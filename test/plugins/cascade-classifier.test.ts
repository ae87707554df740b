/** cascade-classifier: escalation by confidence, which stage decided, custom stages, and stage option errors. */
import { describe, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import cascadeClassifier from '../../plugins/cascade-classifier/index.ts'
import { keepNothing } from 'switchyard/plugin'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {}, messages: [{ role: 'user', content }],
})
const setupWith = (input: unknown, baseDir = process.cwd()) =>
  cascadeClassifier.setup({
    name: 'cascade-classifier', options: v.parse(cascadeClassifier.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir, keep: keepNothing,
  })
const signal = new AbortController().signal

/** A custom classifier module, written where a config would point at it; it always answers `label` with `confidence`. */
async function writeCustomStage(dir: string, label: string, confidence: number) {
  const valibot = import.meta.resolve('valibot')
  const source = `import * as v from '${valibot}'
export default {
  name: 'fixed-classifier', kind: 'classifier',
  options: v.strictObject({ note: v.optional(v.string(), 'fixed') }),
  setup: ({ options }) => ({
    classify: () => ({ label: '${label}', confidence: ${confidence}, scores: { SIMPLE: 0, MODERATE: 0, COMPLEX: 0, ${label}: ${confidence} }, reasons: [options.note] }),
    close: () => { globalThis.__fixedClosed = (globalThis.__fixedClosed ?? 0) + 1 },
  }),
}
`
  await Bun.write(join(dir, 'fixed-classifier.ts'), source)
}

describe('cascade-classifier', () => {
  test('the default cascade answers with the learned classifier and says so', async () => {
    const out = await (await setupWith({})).classify(request('How do I get the last element of a list in Python?'), signal)
    expect(out.label).toBe('SIMPLE')
    expect(out.classifier).toBe('cascade-classifier/learned-classifier')
    expect(out.reasons[0]).toBe('decided by learned-classifier')
  })

  test('a confident first stage decides; an unreachable minConfidence escalates to the next stage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cascade-'))
    try {
      await writeCustomStage(dir, 'COMPLEX', 0.99)
      const confident = await setupWith({ stages: [{ use: 'heuristic-classifier', minConfidence: 0 }, { use: './fixed-classifier.ts' }] }, dir)
      const first = await confident.classify(request('What is a tuple?'), signal)
      expect(first).toMatchObject({ label: 'SIMPLE', classifier: 'cascade-classifier/heuristic-classifier' })

      const escalating = await setupWith({
        stages: [{ use: 'heuristic-classifier', minConfidence: 1 }, { use: './fixed-classifier.ts', options: { note: 'custom stage' } }],
      }, dir)
      const out = await escalating.classify(request('What is a tuple?'), signal)
      expect(out.label).toBe('COMPLEX')
      expect(out.classifier).toBe('cascade-classifier/fixed-classifier')
      expect(out.reasons[0]).toBe('decided by fixed-classifier')
      expect(out.reasons[1]).toMatch(/^heuristic-classifier SIMPLE [01]\.\d\d < 1$/)
      expect(out.reasons).toContain('custom stage')
      await escalating.close?.()
      expect((globalThis as { __fixedClosed?: number }).__fixedClosed).toBe(1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a failing stage is skipped and the next one decides', async () => {
    const c = await setupWith({ stages: [{ use: 'llm-classifier', options: { url: 'http://127.0.0.1:9', timeoutMs: 200 }, minConfidence: 0.5 }, { use: 'keyword-classifier' }] })
    const out = await c.classify(request('Refactor this module'), signal)
    expect(out.label).toBe('COMPLEX')
    expect(out.classifier).toBe('cascade-classifier/keyword-classifier')
    expect(out.reasons[1]).toMatch(/^llm-classifier MODERATE 0\.20 < 0\.5$/)
  })

  test('stage options are validated with the stage schema and errors name stages[i].options', async () => {
    await expect(setupWith({ stages: [{ use: 'learned-classifier' }, { use: 'heuristic-classifier', options: { simpleTokens: 'x' } }] }))
      .rejects.toThrow(/stages\[1\]\.options\.simpleTokens: /)
    await expect(setupWith({ stages: [{ use: 'no-such-classifier' }] })).rejects.toThrow(/stages\[0\]\.use "no-such-classifier"/)
  })

  test('features, version and retraining come from the learned stage, also when an earlier stage decides', async () => {
    const cascade = await setupWith({ stages: [{ use: 'keyword-classifier', minConfidence: 0 }, { use: 'learned-classifier' }] })
    const alone = await setupWith({ stages: [{ use: 'keyword-classifier', minConfidence: 0 }] })
    expect(alone.retrain).toBeUndefined()
    expect(cascade.version?.()).toStartWith('shipped-')
    expect(cascade.retrain).toBeFunction()
    expect(cascade.rollback).toBeFunction()
    const learnedFirst = await setupWith({ stages: [{ use: 'learned-classifier', minConfidence: 1 }, { use: 'keyword-classifier', minConfidence: 0 }] })
    const out = await learnedFirst.classify(request('write a python function that reverses a linked list'), signal)
    expect(out.classifier).toBe('cascade-classifier/keyword-classifier')
    expect(out.features?.index.length).toBeGreaterThan(3)
    expect(out.version).toBe(cascade.version?.())
  })
})
