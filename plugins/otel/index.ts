/** `otel`: exports the core's traces over OTLP/HTTP to Jaeger or any collector; process-level across reloads. */
import { definePlugin } from 'switchyard/plugin'
import { OtelOptions } from './options.ts'
import { SPANS_DROPPED_COUNTER, SPANS_DROPPED_HELP } from './dropped-spans.ts'
import { droppedSpans, flushTracing, startTracing } from './sdk.ts'

/** The GenAI opt-in switch the core reads before putting prompt or completion text on a span. */
const CAPTURE_CONTENT_ENV = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'

export default definePlugin({
  name: 'otel',
  kind: 'telemetry',
  // Every option wins over its standard OTEL_* variable (options.ts; docs/telemetry.md has the table).
  options: OtelOptions,
  async setup({ options, log }) {
    const { captureContent, ...tracing } = options
    // Process-level like the provider; an explicit option wins over the env switch, also on reload.
    if (captureContent !== undefined) process.env[CAPTURE_CONTENT_ENV] = String(captureContent)
    await startTracing(tracing, log)
    return {
      counters: () => {
        const total = droppedSpans()
        return total === undefined ? [] : [{ name: SPANS_DROPPED_COUNTER, help: SPANS_DROPPED_HELP, value: total }]
      },
      // A reload closes the old generation: flush its spans but keep the provider for the new one.
      close: () => flushTracing(),
    }
  },
})
