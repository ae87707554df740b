/**
 * Counters other telemetry plugins offer process-wide (the `otel` plugin's dropped spans), read at scrape time.
 * The key and shape are the ones plugins/otel/process-counters.ts registers under; see the reason there.
 */

export interface ProcessCounter {
  readonly help: string
  value(): number
}

const KEY = Symbol.for('switchyard.process-counters')

/** Name (without the metric prefix) → counter; empty when no plugin offers one. */
export function processCounters(): ReadonlyMap<string, ProcessCounter> {
  const holder = globalThis as unknown as Record<symbol, Map<string, ProcessCounter> | undefined>
  return holder[KEY] ?? new Map()
}
