/** Passive health from real traffic: a circuit breaker per backend and per (backend, model), EWMAs of latency and TTFT. */
import type { CircuitState, Logger } from '../plugin/types.ts'
import { type Breaker, type BreakerOptions, breakerKey, createBreakerMap } from './breaker.ts'
import { type Ewma, createEwma } from './ewma.ts'
import type { Outcome, PassiveHealth } from './state.ts'

const NONE: readonly string[] = []

export function createPassiveHealth(log: Logger, options: BreakerOptions = {}): PassiveHealth {
  const breakers = createBreakerMap(options, (circuit, from, to) => log.info('circuit changed', { circuit, from, to }))
  /** Each backend's per-model breakers, for `openModels` without building a key per model per request. */
  const perModel = new Map<string, Map<string, Breaker>>()
  const latency = new Map<string, Ewma>()
  const ttft = new Map<string, Ewma>()
  const ewmaFor = (map: Map<string, Ewma>, backend: string) => {
    let e = map.get(backend)
    if (!e) map.set(backend, (e = createEwma({ alpha: 0.2 })))
    return e
  }
  return {
    circuit(backend, model) {
      const key = breakerKey(backend, model)
      return breakers.has(key) ? breakers.get(key).state() : ('closed' as CircuitState)
    },
    trial(backend) {
      const key = breakerKey(backend)
      return breakers.has(key) && breakers.get(key).state() === 'half-open' && breakers.get(key).canPass()
    },
    record(backend, model, outcome: Outcome) {
      if (outcome.cancelled) return
      let models = perModel.get(backend)
      if (!models) perModel.set(backend, (models = new Map()))
      let modelBreaker = models.get(model)
      if (!modelBreaker) models.set(model, (modelBreaker = breakers.get(breakerKey(backend, model))))
      for (const breaker of [breakers.get(breakerKey(backend)), modelBreaker]) {
        if (outcome.ok) breaker.onSuccess()
        else breaker.onFailure()
      }
      if (outcome.ok && outcome.latencyMs !== undefined) ewmaFor(latency, backend).update(outcome.latencyMs)
      if (outcome.ok && outcome.ttftMs !== undefined) ewmaFor(ttft, backend).update(outcome.ttftMs)
    },
    openModels(backend) {
      let open: string[] | undefined
      for (const [model, breaker] of perModel.get(backend) ?? []) {
        if (breaker.state() === 'open') (open ??= []).push(model)
      }
      return open ?? NONE
    },
    ewma: (backend) => ({ latencyMs: latency.get(backend)?.value(), ttftMs: ttft.get(backend)?.value() }),
  }
}
