/** Circuit breakers (closed → open → half-open) fed by request outcomes, with an injectable clock. */
import type { CircuitState } from '../plugin/types.ts'

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (`Infinity` to rely on `failureRate` alone). */
  readonly failureThreshold?: number
  /** Also open when, within `windowMs`, at least `minRequests` outcomes were seen and this share failed (0–1). */
  readonly failureRate?: { readonly threshold: number; readonly windowMs: number; readonly minRequests: number }
  /** Cooldown while open before trial requests are let through. */
  readonly openMs?: number
  /** Trial requests admitted while half-open; that many successes close the circuit. */
  readonly halfOpenMax?: number
  readonly now?: () => number
  /** Called on every transition, for logging on change only. */
  readonly onChange?: (from: CircuitState, to: CircuitState) => void
}

export interface Breaker {
  state(): CircuitState
  /** Whether a request may go through now; while half-open each `true` takes one trial slot. */
  canPass(): boolean
  onSuccess(): void
  onFailure(): void
}

export const BREAKER_DEFAULTS = { failureThreshold: 3, openMs: 10_000, halfOpenMax: 1 } as const

export function createBreaker(opts: BreakerOptions = {}): Breaker {
  const failureThreshold = opts.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold
  const openMs = opts.openMs ?? BREAKER_DEFAULTS.openMs
  const halfOpenMax = opts.halfOpenMax ?? BREAKER_DEFAULTS.halfOpenMax
  const rate = opts.failureRate
  const now = opts.now ?? Date.now

  let current: CircuitState = 'closed'
  let consecutiveFailures = 0
  let openedAt = 0
  let halfOpenedAt = 0
  let trials = 0
  let trialSuccesses = 0
  let outcomes: { at: number; ok: boolean }[] = []

  function move(to: CircuitState): void {
    const from = current
    if (from === to) return
    current = to
    trials = 0
    trialSuccesses = 0
    if (to === 'open') openedAt = now()
    if (to === 'half-open') halfOpenedAt = now()
    if (to === 'closed') {
      consecutiveFailures = 0
      outcomes = []
    }
    opts.onChange?.(from, to)
  }

  /** Lazy transitions driven by the clock, so no timer is needed. */
  function tick(): void {
    const t = now()
    if (current === 'open' && t - openedAt >= openMs) move('half-open')
    // Trials that never reported (a caller that dropped the request) must not wedge the circuit.
    if (current === 'half-open' && trials >= halfOpenMax && t - halfOpenedAt >= openMs) {
      halfOpenedAt = t
      trials = trialSuccesses
    }
  }

  function record(ok: boolean): void {
    if (!rate) return
    const t = now()
    outcomes.push({ at: t, ok })
    outcomes = outcomes.filter((o) => t - o.at < rate.windowMs)
  }

  /** `record` has just dropped the outcomes outside the window. */
  function rateTripped(): boolean {
    if (!rate || outcomes.length < rate.minRequests) return false
    let failures = 0
    for (const o of outcomes) if (!o.ok) failures++
    return failures / outcomes.length >= rate.threshold
  }

  return {
    state() {
      tick()
      return current
    },
    canPass() {
      tick()
      if (current === 'closed') return true
      if (current === 'open' || trials >= halfOpenMax) return false
      trials++
      return true
    },
    onSuccess() {
      tick()
      if (current === 'half-open') {
        trialSuccesses++
        if (trialSuccesses >= halfOpenMax) move('closed')
        return
      }
      if (current === 'closed') {
        consecutiveFailures = 0
        record(true)
      }
    },
    onFailure() {
      tick()
      if (current === 'half-open') {
        move('open')
        return
      }
      // A late failure of a request admitted before the circuit opened changes nothing.
      if (current === 'open') return
      consecutiveFailures++
      record(false)
      if (consecutiveFailures >= failureThreshold || rateTripped()) move('open')
    },
  }
}

export interface BreakerMap {
  /** The breaker for a key, created closed on first use. */
  get(key: string): Breaker
  has(key: string): boolean
}

/**
 * One breaker per key, all sharing options: per backend, or per (backend, model) with `breakerKey`.
 * `onChange` hears every transition with the key of the breaker that moved.
 */
export function createBreakerMap(
  opts: Omit<BreakerOptions, 'onChange'> = {},
  onChange?: (key: string, from: CircuitState, to: CircuitState) => void,
): BreakerMap {
  const breakers = new Map<string, Breaker>()
  return {
    get(key) {
      let breaker = breakers.get(key)
      if (!breaker) {
        breaker = createBreaker(onChange ? { ...opts, onChange: (from, to) => onChange(key, from, to) } : opts)
        breakers.set(key, breaker)
      }
      return breaker
    },
    has: (key) => breakers.has(key),
  }
}

/** Key for a backend, or for one model on it. Backend names carry no '/', model names may. */
export function breakerKey(backend: string, model?: string): string {
  return model === undefined ? backend : `${backend}/${model}`
}
