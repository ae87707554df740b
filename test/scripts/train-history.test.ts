/** scripts/train.ts --history: the gateway's retrain over a decision history database, its figures, its candidate file. */
import { expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import { keepNothing } from 'switchyard/plugin'
import type { Classification, Logger } from 'switchyard/plugin'
import learnedClassifier from '../../plugins/learned-classifier/index.ts'
import { readRows, rowRequest } from '../../plugins/learned-classifier/dataset.ts'
import { openHistoryStore } from '../../plugins/sqlite-history/store.ts'
import { decisionOf } from '../../src/pipeline/history.ts'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }

test('train --history retrains from the labelled decisions of a history file and writes the candidate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'train-history-'))
  try {
    const signal = new AbortController().signal
    const classifier = await learnedClassifier.setup({
      name: 'learned-classifier', options: v.parse(learnedClassifier.options, {}), signal, log, gateway: { backends: [] }, baseDir: dir, stateDir: dir, keep: keepNothing,
    })
    const store = openHistoryStore(join(dir, 'history.db'), { log })
    const mbpp = (await readRows('data/routing-dev.jsonl')).filter((r) => r.source === 'mbpp-plus').slice(0, 40)
    mbpp.forEach((row, i) => {
      const request = rowRequest(row)
      const classification = classifier.classify(request, signal) as Classification
      store.record(decisionOf({ stage: 'response', requestId: `r${i}`, timeMs: i, request, route: 'auto', classification, status: 200 }, false))
    })
    mbpp.forEach((_, i) => expect(store.label(`r${i}`, 'SIMPLE', 'verdict')).toBe(true))
    store.close()
    const out = join(dir, 'candidate.json')
    const proc = Bun.spawnSync([process.execPath, 'scripts/train.ts', '--history', join(dir, 'history.db'), '--out', out], { stdout: 'pipe', stderr: 'pipe' })
    const stdout = proc.stdout.toString()
    expect(proc.exitCode).toBe(0)
    expect(stdout).toContain('40 labelled decisions')
    expect(stdout).toContain('labels by source: verdict 40')
    expect(stdout).toMatch(/accuracy on the corrections \(after: grouped CV\) +0\.000 +(0\.9\d\d|1\.000)/)
    expect(stdout).toContain('PROMOTED: promoted v1')
    expect(await Bun.file(out).json()).toMatchObject({ format: 'switchyard-learned-version-v1', version: 'v1' })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}, 20_000)
