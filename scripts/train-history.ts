/** `train --history`: the gateway's retrain run over a decision history file, with its figures printed. */
import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Logger } from 'switchyard/plugin'
import { loadBaseData, SHIPPED_TRAINING_DATA } from '../plugins/learned-classifier/base-data.ts'
import { createFeaturizer } from '../plugins/learned-classifier/featurize.ts'
import { DEFAULT_WEIGHTS_PATH } from '../plugins/learned-classifier/index.ts'
import { retrainCandidate } from '../plugins/learned-classifier/retrain.ts'
import { readWeights, storePromoted, VERSIONS_FOLDER } from '../plugins/learned-classifier/versions.ts'
import { openHistoryStore } from '../plugins/sqlite-history/store.ts'
import { formatRetrain } from './retrain-figures.ts'

export interface HistoryTraining {
  readonly history: string
  readonly out?: string
  readonly weights?: string
  readonly bias: { readonly min: number; readonly max: number }
}

const stderrLog: Logger = {
  debug() {}, info() {},
  warn: (msg, fields) => console.error(`warn: ${msg}`, fields ?? ''),
  error: (msg, fields) => console.error(`error: ${msg}`, fields ?? ''),
}

/** Read every labelled decision from the history, train the candidate the gateway would, print its figures. */
export async function trainFromHistory(o: HistoryTraining): Promise<void> {
  if (!(await Bun.file(o.history).exists())) throw new Error(`${o.history}: no such history database`)
  const store = openHistoryStore(o.history, { log: stderrLog })
  let labelled
  try {
    labelled = await store.labelled()
  } finally {
    store.close()
  }
  const path = o.weights ? resolve(o.weights) : DEFAULT_WEIGHTS_PATH
  const current = await readWeights(path, path === DEFAULT_WEIGHTS_PATH)
  const { model } = current
  const id = current.base
  const excludeNc = (model.meta.trainedOn as { excludedNonCommercial?: unknown } | undefined)?.excludedNonCommercial === true
  const start = performance.now()
  const base = await loadBaseData(SHIPPED_TRAINING_DATA, model.spec, excludeNc)
  const outcome = await retrainCandidate({ labelled, base, current, bias: o.bias, version: 'v1', featurize: createFeaturizer(model.spec) })
  console.log(`${labelled.length} labelled decisions in ${o.history}; retrain took ${((performance.now() - start) / 1000).toFixed(1)} s`)
  console.log(formatRetrain(outcome))
  if (o.out && outcome.candidate) {
    // Written as the gateway stores a version, in a scratch folder, then moved to --out.
    const dir = `${resolve(o.out)}.tmp-dir`
    const fresh = { format: 'switchyard-learned-pointer-v1' as const, base: id, current: id, history: [id], versions: [], next: 1, updatedAtMs: Date.now() }
    await storePromoted(dir, fresh, outcome.candidate, { promoted: outcome.promoted, reason: outcome.reason, before: outcome.before, after: outcome.after })
    await Bun.write(o.out, Bun.file(`${dir}/${VERSIONS_FOLDER}/learned-v1.json`))
    await rm(dir, { recursive: true, force: true })
    console.log(`candidate -> ${o.out}`)
  }
}
