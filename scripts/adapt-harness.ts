/** `eval --adapt` plumbing: a learned classifier set up as the gateway does, a decision history, corrections, retrains. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { Classification, LabelSource, Logger, PluginInstance, RetrainResult, TaskClass } from 'switchyard/plugin'
import learnedClassifier from '../plugins/learned-classifier/index.ts'
import { rowRequest } from '../plugins/learned-classifier/dataset.ts'
import type { LabelledRow } from '../plugins/learned-classifier/dataset.ts'
import { openHistoryStore } from '../plugins/sqlite-history/store.ts'
import { decisionOf } from '../src/pipeline/history.ts'

const quietLog: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/** `keep` shared by every harness of one run: the featurized training rows are built once per training set. */
export function createKeep(): <T>(key: string, create: () => T) => T {
  const kept = new Map<string, unknown>()
  return <T>(key: string, create: () => T): T => {
    if (!kept.has(key)) kept.set(key, create())
    return kept.get(key) as T
  }
}

export interface Harness {
  readonly dir: string
  classify(rows: readonly LabelledRow[]): Classification[]
  /** Route `rows` (recorded in the history), label them, and run the retrain hook on every labelled decision. */
  correct(rows: readonly LabelledRow[], label: (row: LabelledRow) => TaskClass, source: LabelSource): Promise<{ result: RetrainResult; ms: number }>
  version(): string
  close(): Promise<void>
}

/**
 * A learned classifier with its state in a fresh temporary folder, and a sqlite decision history beside it: decisions
 * are recorded from the classification as the gateway records them (`decisionOf`), labelled with the store's
 * `label()`, read back with `labelled()` and handed to `retrain`, as `POST /router/retrain` does.
 */
export async function startHarness(options: Record<string, unknown>, keep: <T>(key: string, create: () => T) => T): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-adapt-'))
  const controller = new AbortController()
  const instance = (await learnedClassifier.setup({
    name: 'learned-classifier', options: v.parse(learnedClassifier.options, options), signal: controller.signal, log: quietLog,
    gateway: { backends: [] }, baseDir: process.cwd(), stateDir: dir, keep,
  })) as PluginInstance<'classifier'>
  const store = openHistoryStore(join(dir, 'history.db'), { log: quietLog })
  const classifyOne = (row: LabelledRow) => instance.classify(rowRequest(row), controller.signal) as Classification
  let sequence = 0
  return {
    dir,
    classify: (rows) => rows.map(classifyOne),
    async correct(rows, label, source) {
      const ids = rows.map((row) => {
        const request = rowRequest(row)
        const requestId = `adapt-${++sequence}`
        store.record(decisionOf({ stage: 'response', requestId, timeMs: Date.now(), request, route: 'auto', classification: classifyOne(row), status: 200, durationMs: 1 }, false))
        return requestId
      })
      rows.forEach((row, i) => {
        if (!store.label(ids[i]!, label(row), source)) throw new Error(`history lost decision ${ids[i]}`)
      })
      const start = performance.now()
      const result = await instance.retrain!({ labelled: store.labelled(), dir, bias: { min: -1, max: 1 }, signal: controller.signal })
      return { result, ms: performance.now() - start }
    },
    version: () => instance.version!(),
    async close() {
      controller.abort()
      store.close()
      await instance.close?.()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
