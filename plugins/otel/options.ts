/** The `otel` plugin's options: each one, when set, wins over the standard OpenTelemetry variable it matches. */
import * as v from 'valibot'
import { HEADER_NAME } from './env.ts'

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number]

export const OTLP_COMPRESSIONS = ['gzip', 'none'] as const
export type OtlpCompression = (typeof OTLP_COMPRESSIONS)[number]

/** `OTEL_TRACES_EXPORTER` values. */
export const TRACES_EXPORTERS = ['otlp', 'console', 'none'] as const
export type TracesExporter = (typeof TRACES_EXPORTERS)[number]

/** `OTEL_TRACES_SAMPLER` values the SDK has samplers for (the `jaeger_remote` ones need a sampling server). */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const
export type SamplerName = (typeof SAMPLERS)[number]

const positiveMs = v.pipe(v.number(), v.gtValue(0))
const positiveCount = v.pipe(v.number(), v.integer(), v.minValue(1))
const ratio = v.pipe(v.number(), v.minValue(0), v.maxValue(1))

export const OtelOptions = v.pipe(
  v.strictObject({
    /** `OTEL_TRACES_EXPORTER`: `otlp` (default), `console` (spans on stdout) or `none`. */
    exporter: v.optional(v.picklist(TRACES_EXPORTERS)),
    /**
     * OTLP/HTTP base URL (`/v1/traces` is appended); default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as-is), then
     * `OTEL_EXPORTER_OTLP_ENDPOINT`. No endpoint: tracing off, unless the exporter is set to `otlp` explicitly
     * (then `http://localhost:4318`).
     */
    endpoint: v.optional(v.pipe(v.string(), v.url())),
    /** `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`, else `http/protobuf`. */
    protocol: v.optional(v.picklist(OTLP_PROTOCOLS)),
    /** `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`: sent with every export; a key here wins over the same key there. */
    headers: v.optional(v.record(v.pipe(v.string(), v.regex(HEADER_NAME)), v.pipe(v.string(), v.regex(/^[^\r\n]*$/)))),
    /** `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`: one export request, retries included; else 10000. */
    timeoutMs: v.optional(positiveMs),
    /** `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`, else `none`. */
    compression: v.optional(v.picklist(OTLP_COMPRESSIONS)),
    /** `OTEL_SERVICE_NAME`, else `service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `switchyard`. */
    serviceName: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** `OTEL_TRACES_SAMPLER`, else `parentbased_always_on`. */
    sampler: v.optional(v.picklist(SAMPLERS)),
    /** `OTEL_TRACES_SAMPLER_ARG`: the ratio (0..1) of the `traceidratio` samplers, else 1. */
    samplerArg: v.optional(ratio),
    /** Short for `sampler: "parentbased_traceidratio"` with this `samplerArg`. */
    samplerRatio: v.optional(ratio),
    /** `OTEL_BSP_SCHEDULE_DELAY`: how long a span may wait in the batch before it is sent; else 5000. */
    scheduleDelayMs: v.optional(positiveMs),
    /** `OTEL_BSP_EXPORT_TIMEOUT`: how long the batch processor waits for one export; else 30000. */
    exportTimeoutMs: v.optional(positiveMs),
    /** `OTEL_BSP_MAX_QUEUE_SIZE`: spans waiting to be sent; more are dropped (and counted); else 2048. */
    maxQueueSize: v.optional(positiveCount),
    /** `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: spans per export, at most `maxQueueSize`; else 512. */
    maxExportBatchSize: v.optional(positiveCount),
    /** Put prompt and completion text on spans (`gen_ai.input.messages` / `gen_ai.output.messages`). */
    captureContent: v.optional(v.boolean()),
  }),
  v.forward(
    v.check(
      (o) => o.samplerRatio === undefined || (o.sampler === undefined && o.samplerArg === undefined),
      'samplerRatio is short for sampler "parentbased_traceidratio" with samplerArg; set either samplerRatio or sampler/samplerArg',
    ),
    ['samplerRatio'],
  ),
)
export type OtelOptions = v.InferOutput<typeof OtelOptions>

/** What the tracing setup reads: every option but the content switch, which the plugin applies itself. */
export type TracingOptions = Omit<OtelOptions, 'captureContent'>
