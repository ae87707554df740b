/** Passive health from real traffic: a circuit breaker per backend and per (backend, model), EWMAs of latency and TTFT. */
import type { CircuitState, Logger } from '../plugin/types.ts'
import { type BreakerOptions, breakerKey, createBreakerMap } from './breaker.ts'
import { type Ewma, createEwma } from './ewma.ts'
import type { Outcome, PassiveHealth } from './state.ts'

export function createPassiveHealth(log: Logger, options: BreakerOptions = {}): PassiveHealth {
  const breakers = createBreakerMap({
    ...options,
    onChange: (from, to) => log.info('circuit changed', { from, to }),
  })
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
      for (const key of [breakerKey(backend), breakerKey(backend, model)]) {
        const breaker = breakers.get(key)
        if (outcome.ok) breaker.onSuccess()
        else breaker.onFailure()
      }
      if (outcome.ok && outcome.latencyMs !== undefined) ewmaFor(latency, backend).update(outcome.latencyMs)
      if (outcome.ok && outcome.ttftMs !== undefined) ewmaFor(ttft, backend).update(outcome.ttftMs)
    },
    ewma: (backend) => ({ latencyMs: latency.get(backend)?.value(), ttftMs: ttft.get(backend)?.value() }),
  }
}
