/** learned-classifier retraining: promotion on a policy shift, refusal on noise, versions on disk, rollback, fallbacks, one at a time. */
import { describe, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { Classification, LabelledDecision, LabelSource, Logger, PluginInstance, TaskClass } from 'switchyard/plugin'
import learnedClassifier from '../../plugins/learned-classifier/index.ts'
import { readRows, rowRequest } from '../../plugins/learned-classifier/dataset.ts'
import type { LabelledRow } from '../../plugins/learned-classifier/dataset.ts'
import { createRandom, shuffleInPlace } from '../../plugins/learned-classifier/train.ts'

const signal = new AbortController().signal
const FAMILY = 'mbpp-plus'
// As across a gateway's reloads, `keep` hands every setup the same featurized training rows (built once, read-only).
const kept = new Map<string, unknown>()
const keep = <T>(key: string, create: () => T): T => (kept.has(key) ? kept.get(key) : kept.set(key, create()).get(key)) as T

interface Setup { instance: PluginInstance<'classifier'>; warnings: string[] }

async function setupIn(stateDir: string, options: Record<string, unknown> = {}): Promise<Setup> {
  const warnings: string[] = []
  const log: Logger = { debug() {}, info() {}, warn: (msg) => void warnings.push(msg), error: (msg) => void warnings.push(msg) }
  const instance = await learnedClassifier.setup({
    name: 'learned-classifier', options: v.parse(learnedClassifier.options, options), signal, log,
    gateway: { backends: [] }, baseDir: stateDir, stateDir, keep,
  })
  return { instance, warnings }
}

/** A temporary state folder, and the dev rows (the shipped training data the retrain also reads). */
async function withState(run: (dir: string, rows: LabelledRow[]) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'learned-retrain-'))
  try {
    await run(dir, await readRows('data/routing-dev.jsonl'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const classify = (s: Setup, row: LabelledRow) => s.instance.classify(rowRequest(row), signal) as Classification

/** Labelled decisions as the history hands them to a retrain: the features the classifier returned, the given label. */
function decisions(s: Setup, rows: readonly LabelledRow[], label: (r: LabelledRow, i: number) => TaskClass, source: LabelSource): LabelledDecision[] {
  return rows.map((row, i) => {
    const c = classify(s, row)
    return {
      id: `req-${i}`, timeMs: i, protocol: 'openai', operation: 'chat', requested: 'auto', route: 'auto', label: c.label,
      classifierVersion: c.version, status: 200, latencyMs: 1, promptHash: row.id, features: c.features,
      correct: label(row, i), source, labelledAtMs: 1_000 + i,
    }
  })
}

/** 40 "too strong" verdicts on MBPP tasks (now SIMPLE); the other MBPP rows are the ones to watch. */
function policyShift(s: Setup, rows: readonly LabelledRow[]) {
  const family = shuffleInPlace(rows.filter((r) => r.source === FAMILY), createRandom(1))
  return { labelled: decisions(s, family.slice(0, 40), () => 'SIMPLE', 'verdict'), rest: family.slice(40) }
}

const retrainInput = (dir: string, labelled: readonly LabelledDecision[]) => ({ labelled, dir, bias: { min: -1, max: 1 }, signal })

describe('learned-classifier retraining', () => {
  test('classify returns the feature vector it decided from and the version of the weights', async () => {
    await withState(async (dir) => {
      const s = await setupIn(dir)
      const out = classify(s, { id: 'x', prompt: 'How do I reverse a list in Python?', label: 'SIMPLE', source: 's', license: 'MIT' })
      expect(out.version).toMatch(/^shipped-[0-9a-f]{8}$/)
      expect(s.instance.version?.()).toBe(out.version!)
      expect(out.features!.index.length).toBeGreaterThan(5)
      expect(out.features!.value.length).toBe(out.features!.index.length)
      expect(out.features!.dense.length).toBeGreaterThan(10)
    })
  })

  test('a clear policy shift is promoted: the uncorrected prompts of the family follow, the version is stored and survives a restart', async () => {
    await withState(async (dir, rows) => {
      const s = await setupIn(dir)
      const { labelled, rest } = policyShift(s, rows)
      expect(rest.filter((r) => classify(s, r).label === 'SIMPLE').length).toBe(0)
      const result = await s.instance.retrain!(retrainInput(dir, labelled))
      expect(result.promoted).toBe(true)
      expect(result.version).toBe('v1')
      expect(result.reason).toMatch(/^promoted v1: /)
      expect(result.after).toMatchObject({ corrections: { n: 40 }, labels: { bySource: { verdict: 40 } } })
      expect(result.before).toHaveProperty('keptShipped.macroF1')
      expect(s.instance.version?.()).toBe('v1')
      const follow = rest.filter((r) => classify(s, r).label === 'SIMPLE').length / rest.length
      expect(follow).toBeGreaterThanOrEqual(0.75)
      expect(classify(s, rest[0]!).version).toBe('v1')
      const reasons = rest.map((r) => classify(s, r).reasons[0])
      expect(reasons.some((r) => /^correction memory: \d+ similar corrections? \(cos 0\.\d\d\)$/.test(r ?? ''))).toBe(true)
      expect(await Bun.file(join(dir, 'classifier', 'learned-v1.json')).exists()).toBe(true)
      expect(await Bun.file(join(dir, 'classifier', 'current.json')).json()).toMatchObject({ current: 'v1' })
      const restarted = await setupIn(dir)
      expect(restarted.instance.version?.()).toBe('v1')
      expect(classify(restarted, rest[0]!).label).toBe(classify(s, rest[0]!).label)
    })
  }, 20_000)

  test('another instance adopts a promoted version from its export, and a rollback to the shipped weights as well', async () => {
    await withState(async (dir, rows) => {
      const other = await mkdtemp(join(tmpdir(), 'learned-adopt-'))
      try {
        const a = await setupIn(dir)
        const b = await setupIn(other)
        const shipped = b.instance.version?.()
        const { labelled, rest } = policyShift(a, rows)
        expect((await a.instance.retrain!(retrainInput(dir, labelled))).promoted).toBe(true)
        const exported = await a.instance.exportVersion!(dir)
        expect(exported.version).toBe('v1')
        expect(await b.instance.adoptVersion!(other, exported.version, exported.payload)).toBe(true)
        expect(b.instance.version?.()).toBe('v1')
        expect(rest.map((r) => classify(b, r).label)).toEqual(rest.map((r) => classify(a, r).label))
        // Adopting what it serves already changes nothing; the adopted version survives a restart.
        expect(await b.instance.adoptVersion!(other, exported.version, exported.payload)).toBe(false)
        expect((await setupIn(other)).instance.version?.()).toBe('v1')
        await a.instance.rollback!(dir)
        const base = await a.instance.exportVersion!(dir)
        expect(base.version).toBe(shipped!)
        expect(await b.instance.adoptVersion!(other, base.version, base.payload)).toBe(true)
        expect(b.instance.version?.()).toBe(shipped!)
        // A version trained from other weights is ignored with a warning.
        const foreign = exported.payload.replace(/"base":"[^"]+"/, '"base":"weights-00000000"')
        expect(await b.instance.adoptVersion!(other, 'v1', foreign)).toBe(false)
        expect(b.warnings.some((w) => w.includes('ignored a version from another instance'))).toBe(true)
      } finally {
        await rm(other, { recursive: true, force: true })
      }
    })
  }, 30_000)

  test('random labels are not promoted, and the reason says why', async () => {
    await withState(async (dir, rows) => {
      const s = await setupIn(dir)
      const random = createRandom(7)
      const picked = shuffleInPlace([...rows], random).slice(0, 60)
      const before = s.instance.version?.()
      const result = await s.instance.retrain!(retrainInput(dir, decisions(s, picked, () => (['SIMPLE', 'MODERATE', 'COMPLEX'] as const)[Math.floor(random() * 3)]!, 'feedback')))
      expect(result.promoted).toBe(false)
      expect(result.reason).toMatch(/^not promoted: the candidate is not reliably more accurate on the corrections/)
      expect(result.version).toBe(before!)
      expect(s.instance.version?.()).toBe(before!)
      expect(await Bun.file(join(dir, 'classifier', 'current.json')).exists()).toBe(false)
    })
  }, 20_000)

  test('rollback goes back to the previous version, and fails when there is none', async () => {
    await withState(async (dir, rows) => {
      const s = await setupIn(dir)
      const shipped = s.instance.version?.()
      const { labelled, rest } = policyShift(s, rows)
      const was = rest.map((r) => classify(s, r).label)
      expect((await s.instance.retrain!(retrainInput(dir, labelled))).promoted).toBe(true)
      expect(await s.instance.rollback!(dir)).toEqual({ version: shipped!, previous: 'v1' })
      expect(s.instance.version?.()).toBe(shipped!)
      expect(rest.map((r) => classify(s, r).label)).toEqual(was)
      expect(await Bun.file(join(dir, 'classifier', 'current.json')).json()).toMatchObject({ current: shipped, history: [shipped] })
      await expect(s.instance.rollback!(dir)).rejects.toThrow(/no earlier version to roll back to/)
    })
  }, 20_000)

  test('a half-written version file or a corrupt pointer at setup falls back to the shipped weights with a warning', async () => {
    await withState(async (dir) => {
      const shipped = (await setupIn(dir)).instance.version?.()
      const pointer = { format: 'switchyard-learned-pointer-v1', base: shipped, current: 'v1', history: [shipped, 'v1'], versions: [], next: 2, updatedAtMs: 0 }
      await Bun.write(join(dir, 'classifier', 'current.json'), JSON.stringify(pointer))
      await Bun.write(join(dir, 'classifier', 'learned-v1.json'), '{"format":"switchyard-learned-version-v1","version":"v1","weig')
      const halfWritten = await setupIn(dir)
      expect(halfWritten.instance.version?.()).toBe(shipped!)
      expect(halfWritten.warnings.join('\n')).toContain('cannot load the promoted version')
      await Bun.write(join(dir, 'classifier', 'current.json'), 'not json at all')
      const corrupt = await setupIn(dir)
      expect(corrupt.instance.version?.()).toBe(shipped!)
      expect(corrupt.warnings.join('\n')).toContain('cannot load the promoted version')
    })
  })

  test('a second retrain while one runs is rejected, and a retrain that fails leaves the current version serving', async () => {
    await withState(async (dir, rows) => {
      const s = await setupIn(dir)
      const shipped = s.instance.version?.()
      const { labelled } = policyShift(s, rows)
      // The state folder is a file: the promotion cannot be written.
      const blocked = join(dir, 'not-a-folder')
      await Bun.write(blocked, 'x')
      const first = s.instance.retrain!(retrainInput(blocked, labelled))
      await expect(s.instance.retrain!(retrainInput(blocked, labelled))).rejects.toThrow(/a retrain is already running/)
      await expect(s.instance.rollback!(dir)).rejects.toThrow(/already running/)
      await expect(first).rejects.toThrow()
      expect(s.instance.version?.()).toBe(shipped!)
      expect(classify(s, rows.find((r) => r.source === FAMILY)!).version).toBe(shipped!)
    })
  }, 20_000)
})
