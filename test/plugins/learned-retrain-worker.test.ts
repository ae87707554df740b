/** learned-classifier retrains in a worker thread: the gateway keeps answering, an abort stops it, a dead worker is a clear error and is replaced. */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { Classification, LabelledDecision, Logger, PluginInstance, RetrainInput } from 'switchyard/plugin'
import learnedClassifier from '../../plugins/learned-classifier/index.ts'
import { readRows, rowRequest } from '../../plugins/learned-classifier/dataset.ts'
import type { LabelledRow } from '../../plugins/learned-classifier/dataset.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

const signal = new AbortController().signal
const ADMIN = { authorization: 'Bearer admin-key-123', 'content-type': 'application/json' }
const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }

interface Setup { instance: PluginInstance<'classifier'>; logs: string[] }

/** The plugin set up in a fresh state folder, with its own `keep` (so its own retrain worker). */
async function setupIn(stateDir: string): Promise<Setup> {
  const logs: string[] = []
  const kept = new Map<string, unknown>()
  const keep = <T>(key: string, create: () => T): T => (kept.has(key) ? kept.get(key) : kept.set(key, create()).get(key)) as T
  const log: Logger = { debug() {}, info() {}, warn: (msg) => void logs.push(msg), error: (msg) => void logs.push(msg) }
  const instance = await learnedClassifier.setup({
    name: 'learned-classifier', options: v.parse(learnedClassifier.options, {}), signal, log, gateway: { backends: [] }, baseDir: stateDir, stateDir, keep,
  })
  return { instance, logs }
}

async function withState(run: (dir: string, family: LabelledRow[]) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'learned-retrain-worker-'))
  try {
    await run(dir, (await readRows('data/routing-dev.jsonl')).filter((r) => r.source === 'mbpp-plus'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** 40 "too strong" verdicts on one family (now SIMPLE): a retrain promotes them. */
function verdicts(s: Setup, rows: readonly LabelledRow[]): LabelledDecision[] {
  return rows.slice(0, 40).map((row, i) => {
    const c = s.instance.classify(rowRequest(row), signal) as Classification
    return {
      id: `req-${i}`, timeMs: i, protocol: 'openai', operation: 'chat', requested: 'auto', route: 'auto', label: c.label,
      classifierVersion: c.version, status: 200, latencyMs: 1, promptHash: row.id, features: c.features,
      correct: 'SIMPLE', source: 'verdict', labelledAtMs: 1_000 + i,
    }
  })
}

describe('learned-classifier retrains in a worker', () => {
  test('the gateway answers requests while a retrain runs', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      stateDir: mkdtempSync(join(tmpdir(), 'switchyard-retrain-worker-')), auth: { adminKey: 'admin-key-123' },
      backends: [{ name: 'sim', kind: 'ollama', url: sim.url }], routes,
      plugins: [{ use: 'learned-classifier' }, { use: 'sqlite-history', options: { flushMs: 5 } }, ...fastProbes],
    })
    const chat = (prompt: string) => fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: prompt }] }) })
    const family = (await readRows('data/routing-dev.jsonl')).filter((r) => r.source === 'mbpp-plus')
    for (const row of family.slice(0, 40)) {
      const res = await chat(row.prompt)
      await res.text()
      await fetch(`${gw.url}/router/feedback`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ requestId: res.headers.get('x-switchyard-request-id'), label: 'SIMPLE' }) })
    }
    let settled = false
    const retrain = fetch(`${gw.url}/router/retrain`, { method: 'POST', headers: ADMIN }).finally(() => (settled = true))
    const served = sim.stats().requests
    for (let i = 0; i < 5; i++) {
      const res = await chat(`Write a haiku about request number ${i}.`)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-switchyard-class')).toBeString()
      await res.text()
    }
    expect(sim.stats().requests).toBe(served + 5)
    expect(settled).toBe(false)
    const res = await retrain
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ promoted: true, version: 'v1' })
  }, 60_000)

  test('a worker that runs out of memory or exits fails its retrain with a clear error; the current version serves and the next retrain runs in a fresh worker', async () => {
    await withState(async (dir, family) => {
      const s = await setupIn(dir)
      const shipped = s.instance.version?.()
      const labelled = verdicts(s, family)
      const input = (workerFault?: 'oom' | 'exit') => ({ labelled, dir, bias: { min: -1, max: 1 }, signal, workerFault }) as RetrainInput
      await expect(s.instance.retrain!(input('oom'))).rejects.toThrow('learned-classifier: the retrain worker died (RangeError: Out of memory)')
      expect(s.instance.version?.()).toBe(shipped!)
      expect((s.instance.classify(rowRequest(family[0]!), signal) as Classification).version).toBe(shipped!)
      await expect(s.instance.retrain!(input('exit'))).rejects.toThrow('learned-classifier: the retrain worker died (it exited with code 70)')
      expect(s.logs.filter((l) => l.includes('the retrain worker died')).length).toBe(2)
      expect(await Bun.file(join(dir, 'classifier', 'current.json')).exists()).toBe(false)
      const result = await s.instance.retrain!(input())
      expect(result).toMatchObject({ promoted: true, version: 'v1', candidate: 'v1' })
      expect(s.instance.version?.()).toBe('v1')
      expect(s.logs.some((l) => l.includes('no retrain worker could start'))).toBe(false)
    })
  }, 60_000)

  test('a retrain aborted mid-run rejects with the abort reason and the version keeps serving; the same worker takes the next one', async () => {
    await withState(async (dir, family) => {
      const s = await setupIn(dir)
      const shipped = s.instance.version?.()
      const labelled = verdicts(s, family)
      // Half a second in, the worker is still featurizing the shipped rows (a retrain takes seconds).
      const aborted = s.instance.retrain!({ labelled, dir, bias: { min: -1, max: 1 }, signal: AbortSignal.timeout(500) })
      await expect(aborted).rejects.toMatchObject({ name: 'TimeoutError' })
      expect(s.instance.version?.()).toBe(shipped!)
      const result = await s.instance.retrain!({ labelled, dir, bias: { min: -1, max: 1 }, signal })
      expect(result).toMatchObject({ promoted: true, version: 'v1' })
      expect(s.logs).toEqual([])
    })
  }, 60_000)
})
