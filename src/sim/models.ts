/** The simulator's model catalog: specs derived from model names, plus which models are loaded and until when. */

export const DEFAULT_MODELS = ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', 'llama3.2:3b', 'deepseek-coder:33b'] as const

/** Fixed so listings are deterministic across runs. */
const MODIFIED_AT = '2025-01-15T10:30:00.000Z'
const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000
/** Ollama's default context window per its FAQ; what /api/ps reports when no num_ctx is given. */
const LOADED_CONTEXT_LENGTH = 4096
/** What `keep_alive: -1` means: Go's max duration, about 292 years. */
const FOREVER_MS = 292 * 365 * 24 * 3_600_000

const FAMILIES: Readonly<Record<string, string>> = {
  qwen: 'qwen2', llama: 'llama', deepseek: 'llama', codellama: 'llama', mistral: 'llama',
  gemma: 'gemma', phi: 'phi3', nomic: 'nomic-bert', mxbai: 'bert', starcoder: 'starcoder2',
}

export interface ModelSpec {
  readonly name: string
  readonly family: string
  readonly parameterCount: number
  readonly parameterSize: string
  /** Billions of parameters: drives every simulated delay. */
  readonly billions: number
  readonly sizeBytes: number
  readonly digest: string
  readonly modifiedAt: string
  readonly contextLength: number
  readonly embeddingOnly: boolean
  readonly capabilities: readonly string[]
}

export interface ModelDetails {
  parent_model: string
  format: 'gguf'
  family: string
  families: string[]
  parameter_size: string
  quantization_level: 'Q4_K_M'
}

export function describeModel(spec: ModelSpec): ModelDetails {
  return {
    parent_model: '',
    format: 'gguf',
    family: spec.family,
    families: [spec.family],
    parameter_size: spec.parameterSize,
    quantization_level: 'Q4_K_M',
  }
}

/** Reads the size from a tag like `:1.5b`, `:7b-instruct`, `:270m`; 7B when the name says nothing. */
export function parseBillions(name: string): number {
  const tag = name.includes(':') ? name.slice(name.lastIndexOf(':') + 1) : ''
  const match = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z])/i.exec(`-${tag}`) ??
    /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z])/i.exec(`-${name}`)
  if (!match) return 7
  const value = Number(match[1])
  return match[2]?.toLowerCase() === 'm' ? value / 1000 : value
}

function formatParameterSize(billions: number): string {
  if (billions < 1) return `${Math.round(billions * 1000)}M`
  return `${Number(billions.toFixed(1))}B`
}

function familyOf(name: string): string {
  const base = name.split(':')[0]?.split('/').pop() ?? name
  const prefix = /^[a-z]+/i.exec(base)?.[0]?.toLowerCase() ?? 'llama'
  return FAMILIES[prefix] ?? prefix
}

export function createModelSpec(name: string): ModelSpec {
  const billions = parseBillions(name)
  const embeddingOnly = name.toLowerCase().includes('embed')
  return {
    name,
    family: familyOf(name),
    parameterCount: Math.round(billions * 1e9),
    parameterSize: formatParameterSize(billions),
    billions,
    // Q4_K_M weighs about 0.65 bytes per parameter.
    sizeBytes: Math.round(billions * 1e9 * 0.65) + 1_048_576,
    digest: new Bun.CryptoHasher('sha256').update(name).digest('hex'),
    modifiedAt: MODIFIED_AT,
    contextLength: embeddingOnly ? 8192 : 32_768,
    embeddingOnly,
    capabilities: embeddingOnly ? ['embedding'] : ['completion', 'tools', 'insert'],
  }
}

/** Ollama names default their tag to `latest`: `llama3.2` and `llama3.2:latest` are one model. */
export function normalizeName(name: string): string {
  return name.includes(':') ? name : `${name}:latest`
}

export interface ModelCatalog {
  /** The models listed now, in the order they arrived. */
  readonly models: readonly ModelSpec[]
  find(name: string): ModelSpec | undefined
  /** Lists the model under its name, replacing one already there (what a pull, copy or create writes). */
  add(spec: ModelSpec): void
  /** Unlists the model; false when it was not there. */
  remove(name: string): boolean
}

export function createModelCatalog(names: readonly string[]): ModelCatalog {
  const byName = new Map(names.map(createModelSpec).map((m) => [normalizeName(m.name), m]))
  let models: readonly ModelSpec[] | undefined
  return {
    get models() {
      return (models ??= [...byName.values()])
    },
    find: (name) => byName.get(normalizeName(name)),
    add(spec) {
      byName.set(normalizeName(spec.name), spec)
      models = undefined
    },
    remove(name) {
      const removed = byName.delete(normalizeName(name))
      if (removed) models = undefined
      return removed
    },
  }
}

/**
 * Parses Ollama's `keep_alive`: a number of seconds or a Go duration string; negative means
 * forever. Returns milliseconds, `undefined` for the default, `Infinity` for forever.
 */
export function parseKeepAlive(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'number') return value < 0 ? Infinity : value * 1000
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (/^-?\d+(\.\d+)?$/.test(text)) return parseKeepAlive(Number(text))
  const units: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  const negative = text.startsWith('-')
  const body = text.replace(/^[-+]/, '')
  const parts = [...body.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== body) return undefined
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? 's'] ?? 1000), 0)
  return negative ? Infinity : ms
}

export interface LoadedModel {
  readonly spec: ModelSpec
  readonly expiresAt: Date
  readonly contextLength: number
}

export interface ModelRuntime {
  /**
   * Marks the model busy. A model not yet resident starts loading with `load` (one load however many
   * requests arrive meanwhile); `loading` says whether this request has to wait for `ready`.
   */
  acquire(spec: ModelSpec, load: (signal: AbortSignal) => Promise<void>): { loading: boolean; ready: Promise<void> }
  /** Ends one use; the model stays loaded for `keepAliveMs` (default 5 minutes) after its last use. */
  release(spec: ModelSpec, keepAliveMs: number | undefined): void
  unload(spec: ModelSpec): void
  /** Models resident in memory, loading ones included (as Ollama's /api/ps shows them). */
  loaded(): LoadedModel[]
  close(): void
}

interface Residency {
  readonly spec: ModelSpec
  readonly ready: Promise<void>
  loaded: boolean
  busy: number
  expiresAtMs: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export function startModelRuntime(): ModelRuntime {
  const resident = new Map<string, Residency>()
  const closing = new AbortController()

  function schedule(spec: ModelSpec, entry: Residency, keepAliveMs: number) {
    clearTimeout(entry.timer)
    entry.timer = undefined
    entry.expiresAtMs = Date.now() + Math.min(keepAliveMs, FOREVER_MS)
    if (keepAliveMs === Infinity) return
    entry.timer = setTimeout(() => {
      // A request that started after the timer was armed keeps the model; its release re-arms it.
      if (entry.busy === 0 && resident.get(spec.name) === entry) resident.delete(spec.name)
    }, Math.min(keepAliveMs, 2_147_483_647))
    entry.timer.unref?.()
  }

  return {
    acquire(spec, load) {
      const existing = resident.get(spec.name)
      if (existing) {
        existing.busy++
        return { loading: !existing.loaded, ready: existing.ready }
      }
      // The load goes on if its first caller leaves, as Ollama's does; only close() stops it.
      const ready = load(closing.signal).then(() => {
        entry.loaded = true
      })
      ready.catch(() => {})
      const entry: Residency = { spec, ready, loaded: false, busy: 1, expiresAtMs: Date.now() + DEFAULT_KEEP_ALIVE_MS, timer: undefined }
      resident.set(spec.name, entry)
      return { loading: true, ready }
    },
    release(spec, keepAliveMs) {
      const entry = resident.get(spec.name)
      if (!entry) return
      entry.busy = Math.max(0, entry.busy - 1)
      const ms = keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS
      if (ms <= 0 && entry.busy === 0) {
        clearTimeout(entry.timer)
        resident.delete(spec.name)
        return
      }
      schedule(spec, entry, Math.max(ms, 0))
    },
    unload(spec) {
      clearTimeout(resident.get(spec.name)?.timer)
      resident.delete(spec.name)
    },
    loaded() {
      return [...resident.values()].map((entry) => ({
        spec: entry.spec,
        expiresAt: new Date(entry.expiresAtMs),
        contextLength: LOADED_CONTEXT_LENGTH,
      }))
    },
    close() {
      closing.abort()
      for (const entry of resident.values()) clearTimeout(entry.timer)
      resident.clear()
    },
  }
}
