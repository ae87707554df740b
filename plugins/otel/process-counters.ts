/**
 * Process-wide counters a telemetry plugin offers to whichever plugin serves metrics, under a key both know.
 *
 * Why a global: the tracing pipeline is process-wide (one provider per process, kept across config reloads), and the
 * plugin contract gives one plugin no handle on another. The `prometheus` plugin renders every counter registered
 * here as `<prefix>_<name>` (plugins/prometheus/process-counters.ts reads the same key); the core knows neither side.
 */

export interface ProcessCounter {
  readonly help: string
  value(): number
}

const KEY = Symbol.for('switchyard.process-counters')

function counters(): Map<string, ProcessCounter> {
  const holder = globalThis as unknown as Record<symbol, Map<string, ProcessCounter> | undefined>
  return (holder[KEY] ??= new Map())
}

/** Offer `name` (a Prometheus name without the prefix, e.g. `otel_spans_dropped_total`); returns the withdrawal. */
export function registerProcessCounter(name: string, help: string, value: () => number): () => void {
  const counter: ProcessCounter = { help, value }
  counters().set(name, counter)
  return () => {
    if (counters().get(name) === counter) counters().delete(name)
  }
}
