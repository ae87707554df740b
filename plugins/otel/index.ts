/** `otel`: exports the core's traces over OTLP/HTTP to Jaeger or any collector; process-level across reloads. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import { OTLP_PROTOCOLS, flushTracing, startTracing } from './sdk.ts'

/** The GenAI opt-in switch the core reads before putting prompt or completion text on a span. */
const CAPTURE_CONTENT_ENV = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'

export default definePlugin({
  name: 'otel',
  kind: 'telemetry',
  options: v.strictObject({
    /** OTLP/HTTP base URL (`/v1/traces` is appended); default `OTEL_EXPORTER_OTLP_ENDPOINT`. No endpoint: tracing off. */
    endpoint: v.optional(v.pipe(v.string(), v.url())),
    /** Default `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
    protocol: v.optional(v.picklist(OTLP_PROTOCOLS)),
    /** Default `OTEL_SERVICE_NAME`, else `switchyard`. */
    serviceName: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Parent-based trace-id ratio sampling (0..1); default `OTEL_TRACES_SAMPLER` / `_ARG`, else always on. */
    samplerRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
    /** Put prompt and completion text on spans (`gen_ai.input.messages` / `gen_ai.output.messages`). */
    captureContent: v.optional(v.boolean()),
  }),
  async setup({ options, log }) {
    const { captureContent, ...tracing } = options
    // Process-level like the provider; an explicit option wins over the env switch, also on reload.
    if (captureContent !== undefined) process.env[CAPTURE_CONTENT_ENV] = String(captureContent)
    await startTracing(tracing, log)
    return {
      // A reload closes the old generation: flush its spans but keep the provider for the new one.
      close: () => flushTracing(),
    }
  },
})
