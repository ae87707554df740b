/** Order the backends serving one model: known-up, warm, least loaded, fastest. */
import type { BackendView } from 'switchyard/plugin'

export interface Ranked {
  readonly backend: BackendView
  readonly why: string
}

function load(b: BackendView): number {
  return b.maxConcurrency ? b.inFlight / b.maxConcurrency : b.inFlight
}

export function rankBackends(backends: readonly BackendView[], model: string): Ranked[] {
  const scored = backends.map((b) => {
    const warm = b.loaded.some((m) => m.name === model)
    const full = b.maxConcurrency !== undefined && b.inFlight >= b.maxConcurrency
    return { b, warm, full, known: b.up === true, load: load(b), latency: b.ewmaLatencyMs ?? b.latencyMs ?? 0 }
  })
  scored.sort(
    (x, y) =>
      Number(x.full) - Number(y.full) || Number(y.known) - Number(x.known) || Number(y.warm) - Number(x.warm) ||
      x.load - y.load || x.latency - y.latency,
  )
  return scored.map((s) => ({
    backend: s.b,
    why: [s.known ? 'up' : 'health unknown', s.warm ? 'warm' : 'cold', `${s.b.inFlight} in flight`, s.full ? 'at maxConcurrency' : ''].filter(Boolean).join(', '),
  }))
}
