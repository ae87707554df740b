/**
 * Spans the batch span processor dropped because its queue was full: counted for `/metrics`, logged at most once a
 * minute, never silent.
 *
 * How: the SDK's `BatchSpanProcessor` reports its own health on a meter (`selfObsMeterProvider`, the standard
 * `otel.sdk.processor.span.processed` counter, `error.type=queue_full` for a drop). We hand it a meter that is the
 * API's no-op meter except for that one counter, so counting costs nothing per exported span (the processor adds to
 * the counter once per batch, and once per dropped span) and needs no subclass reaching into the processor's private
 * queue. Without a meter the SDK's only trace of a drop is a `diag` line, which the gateway does not show.
 */
import { type Counter, type Meter, type MeterProvider, createNoopMeter } from '@opentelemetry/api'
import type { Logger } from 'switchyard/plugin'

/** The semantic-conventions metric the SDK's span processors report on, and the `error.type` of a queue-full drop. */
const SPAN_PROCESSED = 'otel.sdk.processor.span.processed'
const QUEUE_FULL = 'queue_full'

/** The counter the `otel` plugin offers (`switchyard_otel_spans_dropped_total` under the `prometheus` plugin's prefix). */
export const SPANS_DROPPED_COUNTER = 'otel_spans_dropped_total'
export const SPANS_DROPPED_HELP = 'Spans the OpenTelemetry batch processor dropped because its export queue was full.'

export interface DroppedSpans {
  /** For the batch span processor's `selfObsMeterProvider`. */
  readonly meterProvider: MeterProvider
  /** Spans dropped since tracing started. */
  total(): number
  /** Stop the report timer (and report what is left). */
  close(): void
}

export interface DroppedSpansOptions {
  readonly log: Logger
  /** The queue size, for the log line. */
  readonly maxQueueSize: number
  /** How often drops are reported at most; a minute unless a test says otherwise. */
  readonly reportEveryMs?: number
}

export function startDroppedSpanCounter({ log, maxQueueSize, reportEveryMs = 60_000 }: DroppedSpansOptions): DroppedSpans {
  let total = 0
  let unreported = 0
  let timer: ReturnType<typeof setInterval> | undefined

  // The first drop after a quiet minute is logged at once; later ones once per interval, while they keep coming.
  const report = () => {
    if (unreported === 0) {
      clearInterval(timer)
      timer = undefined
      return
    }
    log.warn('spans dropped: the export queue was full (raise maxQueueSize / OTEL_BSP_MAX_QUEUE_SIZE, or check the collector)', {
      dropped: unreported, total, maxQueueSize,
    })
    unreported = 0
  }
  const dropped = (count: number) => {
    total += count
    unreported += count
    if (timer) return
    report()
    timer = setInterval(report, reportEveryMs)
    timer.unref?.()
  }

  const processed: Counter = {
    add(value, attributes) {
      if (attributes?.['error.type'] === QUEUE_FULL) dropped(value)
    },
  }
  const noop = createNoopMeter()
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter: (name: string, options?: Parameters<Meter['createCounter']>[1]) => (name === SPAN_PROCESSED ? processed : noop.createCounter(name, options)),
  })

  return {
    meterProvider: { getMeter: () => meter },
    total: () => total,
    close() {
      if (unreported > 0) report()
      clearInterval(timer)
      timer = undefined
    },
  }
}
