/** What the gateway knows of each backend: probe reports, passive outcomes, in-flight counts; read as snapshots. */
import type { BackendConfig, Config } from '../config/schema.ts'
import type { BackendView, CircuitState, GpuReport, HealthReport, LoadedModel, ModelInfo } from '../plugin/types.ts'

interface BackendState {
  readonly config: BackendConfig
  readonly gpuIndexes: readonly number[]
  up: boolean | undefined
  latencyMs?: number
  /** Models the backend reported; undefined until a probe has listed them. */
  discovered?: readonly ModelInfo[]
  loaded: readonly LoadedModel[]
  inFlight: number
  lastError?: string
}

export interface Outcome {
  readonly ok: boolean
  /** The client went away: neither a success nor a failure of the backend. */
  readonly cancelled?: boolean
  readonly latencyMs?: number
  readonly ttftMs?: number
  readonly error?: string
}

export interface HealthStore {
  /** Merge a probe's report. Returns the names of backends whose up/down state changed. */
  apply(report: HealthReport): string[]
  views(): readonly BackendView[]
  gpus(): readonly GpuReport[]
  /** Count a request against a backend until the returned function is called with its outcome. */
  begin(backend: string, model: string): (outcome: Outcome) => void
  /** All model names any backend serves, sorted; the same array until a probe reports a change. */
  modelNames(): readonly string[]
  circuit(backend: string, model?: string): CircuitState
  /** A half-open backend's trial slot; see PassiveHealth.trial. */
  trial(backend: string): boolean
  lastError(backend: string): string | undefined
}

/** Passive health decides circuits; the store only asks it. Swapped in by the gateway. */
export interface PassiveHealth {
  circuit(backend: string, model?: string): CircuitState
  /** For a half-open backend: take its trial slot (true at most `halfOpenMax` times until outcomes report). */
  trial(backend: string): boolean
  record(backend: string, model: string, outcome: Outcome): void
  ewma(backend: string): { latencyMs?: number; ttftMs?: number }
  /** Models whose own circuit on `backend` is open. */
  openModels(backend: string): readonly string[]
}

const NONE: readonly string[] = []
const NO_PASSIVE: PassiveHealth = { circuit: () => 'closed', trial: () => false, record: () => {}, ewma: () => ({}), openModels: () => NONE }

export function createHealthStore(config: Config, passive: PassiveHealth = NO_PASSIVE): HealthStore {
  const states = new Map<string, BackendState>()
  for (const b of config.backends) {
    const gpuIndexes = b.gpu ?? []
    states.set(b.name, { config: b, gpuIndexes, up: undefined, loaded: [], inFlight: 0 })
  }
  // Models the config pins to backends count as served there even before (or without) discovery.
  const declared = new Map<string, ModelInfo[]>()
  for (const [model, entry] of Object.entries(config.models ?? {})) {
    for (const backend of entry.backends ?? []) {
      const list = declared.get(backend) ?? []
      list.push({ name: model })
      declared.set(backend, list)
    }
  }
  const restricted = new Map<string, readonly string[]>()
  for (const [model, entry] of Object.entries(config.models ?? {})) if (entry.backends) restricted.set(model, entry.backends)

  let gpuList: readonly GpuReport[] = []
  let cached: readonly BackendView[] | undefined
  /** Sorted model names; changes only when a probe reports (not per request), so it is kept until then. */
  let names: readonly string[] | undefined

  /** The models a backend serves: discovered (minus those the config pins elsewhere) plus those pinned to it. */
  const computeModels = (s: BackendState): readonly ModelInfo[] => {
    const found = (s.discovered ?? []).filter((m) => {
      const only = restricted.get(m.name)
      return !only || only.includes(s.config.name)
    })
    const names = new Set(found.map((m) => m.name))
    return [...found, ...(declared.get(s.config.name) ?? []).filter((m) => !names.has(m.name))]
  }

  /**
   * Views are rebuilt only when a probe reports. What changes per request (in-flight counts, circuits, EWMAs)
   * is read live through getters, so a request's begin/end costs no rebuild.
   */
  const build = (): readonly BackendView[] =>
    [...states.values()].map((s) => {
      const name = s.config.name
      const models = computeModels(s)
      const gpus = gpuList.filter((g) => s.gpuIndexes.includes(g.index))
      return {
        name, kind: s.config.kind, url: s.config.url, up: s.up, latencyMs: s.latencyMs, models, loaded: s.loaded,
        maxConcurrency: s.config.maxConcurrency, gpus,
        get inFlight() {
          return s.inFlight
        },
        get circuit() {
          return passive.circuit(name)
        },
        get openModels() {
          return passive.openModels(name)
        },
        get ewmaLatencyMs() {
          return passive.ewma(name).latencyMs
        },
        get ewmaTtftMs() {
          return passive.ewma(name).ttftMs
        },
      }
    })

  const views = () => (cached ??= build())

  return {
    apply(report) {
      const changed: string[] = []
      for (const r of report.backends ?? []) {
        const s = states.get(r.name)
        if (!s) continue
        if (s.up !== r.up) changed.push(r.name)
        s.up = r.up
        s.latencyMs = r.latencyMs
        s.lastError = r.error
        if (r.models) s.discovered = r.models
        if (r.loaded) s.loaded = r.loaded
      }
      if (report.gpus) gpuList = report.gpus
      cached = undefined
      names = undefined
      return changed
    },
    views,
    gpus: () => gpuList,
    begin(backend, model) {
      const s = states.get(backend)
      if (s) s.inFlight++
      const started = performance.now()
      let done = false
      return (outcome) => {
        if (done) return
        done = true
        if (s) s.inFlight--
        passive.record(backend, model, { latencyMs: performance.now() - started, ...outcome })
        if (s && !outcome.ok && !outcome.cancelled && outcome.error) s.lastError = outcome.error
      }
    },
    modelNames() {
      if (!names) {
        const set = new Set<string>()
        for (const view of views()) for (const m of view.models) set.add(m.name)
        names = [...set].sort()
      }
      return names
    },
    circuit: (backend, model) => passive.circuit(backend, model),
    trial: (backend) => passive.trial(backend),
    lastError: (backend) => states.get(backend)?.lastError,
  }
}
