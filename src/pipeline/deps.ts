/** What every request of one config generation shares: config, plugins, health, memo tables. */
import type { Config } from '../config/schema.ts'
import type { Admission } from '../health/admission.ts'
import type { Auth } from '../http/auth.ts'
import type { HealthStore } from '../health/state.ts'
import type { PluginSet } from '../plugin/load.ts'
import type { Classification, Logger, PipelineEvent } from '../plugin/types.ts'
import type { BoundedMap } from './bounded-map.ts'
import type { LearningState } from './learning.ts'

export interface GatewayDeps {
  readonly config: Config
  readonly plugins: PluginSet
  readonly health: HealthStore
  /** Per-backend concurrency limits and queues; shared by every config generation. */
  readonly admission: Admission
  readonly auth: Auth
  readonly log: Logger
  /** Classifications memoized by a hash of the request text. */
  readonly classifications: BoundedMap<string, Classification>
  /** Recent decisions, the retrain in progress and the corrections since the last one (kept across reloads). */
  readonly learning: LearningState
  /** Where state is kept (history, classifier versions). */
  readonly stateDir: string
  /** Runs every probe of this generation now (a model was pulled, created, copied or deleted). */
  refresh(): Promise<void>
  /** Hands an event to every telemetry plugin; never throws. */
  emit(event: PipelineEvent): void
}
