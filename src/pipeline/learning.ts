/** Feedback, retraining and rollback: what the learning endpoints do, shared with the background retrain. */
import { ConflictError, RetrainFailedError, SwitchyardError, messageOf } from '../errors.ts'
import { EXPLICIT_LABEL_SOURCES, type LabelSource, type RetrainResult, type RollbackResult, type TaskClass } from '../plugin/types.ts'
import type { LoadedPlugin } from '../plugin/load.ts'
import { type Conversations, createConversations } from './affinity.ts'
import type { GatewayDeps } from './deps.ts'
import { type GpuClock, createGpuClock } from './gpu-time.ts'
import { type RecentDecisions, createRecentDecisions } from './history.ts'

/** What learning keeps across config generations of one gateway. */
export interface LearningState {
  readonly recent: RecentDecisions
  /** Conversation affinity: class and backend per conversation. */
  readonly conversations: Conversations
  /** The retrain under way, if any: never two at once. */
  running?: Promise<RetrainResult>
  /** Corrections recorded since the last retrain (for `retrain.everyCorrections`). */
  sinceRetrain: number
  /** Models' observed speeds, for GPU time and savings. */
  readonly gpu: GpuClock
  /** The last background retrain's result, for /health and the logs. */
  last?: RetrainResult & { readonly atMs: number; readonly trigger: 'request' | 'background' }
}

export const createLearningState = (): LearningState => ({ recent: createRecentDecisions(), conversations: createConversations(), gpu: createGpuClock(), sinceRetrain: 0 })

/** The classifier a retrain and a rollback act on: the first configured one that can retrain. */
export function activeClassifier(deps: GatewayDeps): LoadedPlugin<'classifier'> | undefined {
  return deps.plugins.of('classifier').find((p) => p.instance.retrain)
}

/** The version of the model deciding now, named by its classifier, for /health, /router/explain and the dashboard. */
export function classifierVersion(deps: GatewayDeps): { name: string; version: string | null } | null {
  const plugin = deps.plugins.of('classifier').find((p) => p.instance.version) ?? deps.plugins.of('classifier')[0]
  return plugin ? { name: plugin.name, version: plugin.instance.version?.() ?? null } : null
}

/** Records a label in every history store; counts it towards a background retrain. */
export async function giveFeedback(deps: GatewayDeps, requestId: string, label: TaskClass, source: LabelSource): Promise<boolean> {
  let found = false
  for (const store of deps.plugins.of('history')) found = (await store.instance.label(requestId, label, source)) || found
  if (found) noteCorrection(deps)
  return found
}

/** One more correction; with `retrain.everyCorrections`, enough of them start a retrain in the background. */
export function noteCorrection(deps: GatewayDeps): void {
  const state = deps.learning
  state.sinceRetrain++
  const every = deps.config.retrain.everyCorrections
  if (!every || state.sinceRetrain < every || state.running || !activeClassifier(deps)) return
  void retrainNow(deps, AbortSignal.timeout(600_000), 'background').then(
    (result) => deps.log.info('background retrain finished', { promoted: result.promoted, version: result.version, reason: result.reason }),
    (error) => deps.log.error('background retrain failed; the current model keeps serving', { error: messageOf(error) }),
  )
}

/** Trains a candidate on every labelled decision and promotes it when it is better; the current model serves meanwhile. */
export async function retrainNow(deps: GatewayDeps, signal: AbortSignal, trigger: 'request' | 'background' = 'request'): Promise<RetrainResult> {
  const state = deps.learning
  if (state.running) throw new ConflictError('a retrain is already running; try again when it has finished')
  const classifier = activeClassifier(deps)
  if (!classifier) throw new ConflictError('no configured classifier can be retrained (the learned-classifier can)')
  const history = deps.plugins.of('history')[0]
  if (!history) throw new ConflictError('no decision history is configured (plugin kind "history"): there are no labels to learn from')
  const run = (async () => {
    const all = await history.instance.labelled()
    const labelled = deps.config.feedback.implicit ? all : all.filter((d) => EXPLICIT_LABEL_SOURCES.includes(d.source))
    state.sinceRetrain = 0
    return classifier.instance.retrain!({ labelled, dir: deps.stateDir, bias: deps.config.retrain.bias, signal })
  })()
  state.running = run
  try {
    const result = await run
    state.last = { ...result, atMs: Date.now(), trigger }
    // Memoized decisions were made by the old model.
    if (result.promoted) {
      deps.classifications.clear()
      void shareVersion(deps, classifier)
    }
    return result
  } catch (error) {
    if (error instanceof SwitchyardError) throw error
    const serving = classifier.instance.version?.() ?? 'the current model'
    throw new RetrainFailedError(`retrain failed; ${serving} keeps serving: ${messageOf(error)}`, { cause: error })
  } finally {
    state.running = undefined
  }
}

export async function rollbackNow(deps: GatewayDeps): Promise<RollbackResult> {
  const classifier = deps.plugins.of('classifier').find((p) => p.instance.rollback)
  if (!classifier) throw new ConflictError('no configured classifier keeps versions to roll back to')
  if (deps.learning.running) throw new ConflictError('a retrain is running; roll back when it has finished')
  try {
    const result = await classifier.instance.rollback!(deps.stateDir)
    deps.classifications.clear()
    void shareVersion(deps, classifier)
    return result
  } catch (error) {
    if (error instanceof SwitchyardError) throw error
    throw new ConflictError(`rollback failed; the current version keeps serving: ${messageOf(error)}`, { cause: error })
  }
}

/** Publishes the version `classifier` serves now through every history store that shares versions (other instances adopt it). */
export async function shareVersion(deps: GatewayDeps, classifier: LoadedPlugin<'classifier'>): Promise<void> {
  const stores = deps.plugins.of('history').filter((h) => h.instance.publishVersion)
  if (stores.length === 0 || !classifier.instance.exportVersion) return
  try {
    const { version, payload } = await classifier.instance.exportVersion(deps.stateDir)
    for (const store of stores) await store.instance.publishVersion!(classifier.name, version, payload)
  } catch (error) {
    deps.log.warn('could not share the classifier version with other instances', { classifier: classifier.name, error: messageOf(error) })
  }
}

/** Adopts the versions other instances publish (a promotion or a rollback there), through the history stores that share them. */
export function adoptSharedVersions(deps: GatewayDeps): void {
  for (const store of deps.plugins.of('history')) {
    store.instance.subscribeVersions?.((name, version, payload) => {
      const classifier = deps.plugins.of('classifier').find((c) => c.name === name && c.instance.adoptVersion)
      if (!classifier) return
      void classifier.instance.adoptVersion!(deps.stateDir, version, payload).then(
        (changed) => {
          if (!changed) return
          deps.classifications.clear()
          deps.log.info('serving a classifier version another instance promoted', { classifier: name, version })
        },
        (error) => deps.log.warn('could not adopt a classifier version from another instance', { classifier: name, version, error: messageOf(error) }),
      )
    })
  }
}
