/**
 * The trace pipeline's settings from the plugin's options and the standard `OTEL_*` variables: an option wins over
 * its variable, a per-signal `OTEL_EXPORTER_OTLP_TRACES_*` variable over the generic one, and a value that does not
 * parse is logged with the default used instead. Pure: the environment comes in as an object.
 *
 * The SDK reads no variable this resolves (the plugin hands it explicit processors, exporter settings and sampler),
 * except `OTEL_SDK_DISABLED` and `OTEL_RESOURCE_ATTRIBUTES`, which are parsed here by the SDK's own rules (for the
 * warning and the service name) so that both readings agree.
 */
import {
  type Candidate,
  type Env,
  boolean,
  createEnvReader,
  headerList,
  httpUrl,
  oneOf,
  positiveInteger,
  positiveNumber,
  ratio,
  resourceAttributes,
  withSignalPath,
} from './env.ts'
import {
  OTLP_COMPRESSIONS,
  OTLP_PROTOCOLS,
  type OtlpCompression,
  type OtlpProtocol,
  SAMPLERS,
  type SamplerName,
  type TracesExporter,
  type TracingOptions,
} from './options.ts'

/** The specification's defaults. */
export const DEFAULTS = {
  serviceName: 'switchyard',
  endpoint: 'http://localhost:4318/v1/traces',
  protocol: 'http/protobuf',
  timeoutMs: 10_000,
  compression: 'none',
  sampler: 'parentbased_always_on',
  samplerArg: 1,
  scheduledDelayMillis: 5_000,
  exportTimeoutMillis: 30_000,
  maxQueueSize: 2_048,
  maxExportBatchSize: 512,
} as const

export interface OtlpSettings {
  /** The full traces URL. */
  readonly url: string
  readonly protocol: OtlpProtocol
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly compression: OtlpCompression
}

/** The batch span processor's options, under the SDK's names. */
export interface BatchSettings {
  readonly scheduledDelayMillis: number
  readonly exportTimeoutMillis: number
  readonly maxQueueSize: number
  readonly maxExportBatchSize: number
}

export interface SamplerSettings {
  readonly name: SamplerName
  /** The ratio of the `traceidratio` samplers; absent for the others. */
  readonly ratio?: number
}

/** Tracing off, and why: `OTEL_SDK_DISABLED=true`, exporter `none`, or no OTLP endpoint and no console exporter. */
export interface TracingOff {
  readonly off: string
}

export interface TracingOn {
  readonly off?: undefined
  /** OTLP export, when the exporters include `otlp` and an endpoint is known. */
  readonly otlp?: OtlpSettings
  /** Spans printed on stdout (`OTEL_TRACES_EXPORTER=console`). */
  readonly console: boolean
  readonly serviceName: string
  /** `OTEL_RESOURCE_ATTRIBUTES` as the SDK will apply it (it reads the variable itself). */
  readonly resourceAttributes: Readonly<Record<string, string>>
  readonly sampler: SamplerSettings
  readonly batch: BatchSettings
}

export type TracingSettings = TracingOff | TracingOn

const EXPORTER_NAMES = ['otlp', 'console', 'none'] as const satisfies readonly TracesExporter[]
const RATIO_SAMPLERS: readonly SamplerName[] = ['traceidratio', 'parentbased_traceidratio']

const signal = (name: string) => [`OTEL_EXPORTER_OTLP_TRACES_${name}`, `OTEL_EXPORTER_OTLP_${name}`] as const

export function resolveTracingSettings(options: TracingOptions, env: Env, warn: (message: string) => void): TracingSettings {
  const reader = createEnvReader(env, warn)
  const both = <T>(names: readonly string[], parse: (raw: string) => T | undefined): Candidate<T>[] => names.map((n) => [n, parse] as const)

  // Settings of a pipeline that is off are not read: no warnings about values nothing uses.
  if (reader.first([['OTEL_SDK_DISABLED', boolean]], '"true" or "false"', false)) return { off: 'OTEL_SDK_DISABLED=true' }
  const exporters = resolveExporters()
  if (exporters.names.includes('none')) return { off: `${exporters.from}=none` }
  const console = exporters.names.includes('console')
  const otlp = exporters.names.includes('otlp') ? resolveOtlp(exporters.from !== undefined) : undefined
  if (!otlp && !console) return { off: 'no OTLP endpoint' }

  const attributes = resourceAttributes(reader)
  const serviceName = options.serviceName ?? reader.raw('OTEL_SERVICE_NAME') ?? attributes['service.name'] ?? DEFAULTS.serviceName
  return { otlp, console, serviceName, resourceAttributes: attributes, sampler: resolveSampler(), batch: resolveBatch() }

  function resolveExporters(): { names: readonly TracesExporter[]; from?: string } {
    if (options.exporter) return { names: [options.exporter], from: 'option exporter' }
    const name = 'OTEL_TRACES_EXPORTER'
    const list = reader.raw(name)?.split(',').map((s) => s.trim()).filter(Boolean) ?? []
    const known = list.filter((e): e is TracesExporter => (EXPORTER_NAMES as readonly string[]).includes(e))
    const unknown = list.filter((e) => !known.includes(e as TracesExporter))
    const names = known.length > 0 ? [...new Set(known)] : (['otlp'] as const)
    for (const e of unknown) warn(`${name}=${JSON.stringify(e)} is not one of ${EXPORTER_NAMES.join(', ')}; using ${known.length > 0 ? names.join(',') : 'the default otlp'}`)
    return { names, from: known.length > 0 ? name : undefined }
  }

  /** An endpoint from the option or the variables; without one, OTLP is off unless it was asked for by name. */
  function resolveOtlp(askedFor: boolean): OtlpSettings | undefined {
    const url = options.endpoint
      ? withSignalPath(options.endpoint, 'v1/traces')
      : reader.first<string | undefined>(
          [
            ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', httpUrl],
            ['OTEL_EXPORTER_OTLP_ENDPOINT', (raw) => (httpUrl(raw) ? withSignalPath(raw, 'v1/traces') : undefined)],
          ],
          'an http(s) URL',
          askedFor ? DEFAULTS.endpoint : undefined,
          askedFor ? `the default ${DEFAULTS.endpoint}` : 'none (OTLP export off)',
        )
    if (url === undefined) return undefined
    const protocol =
      options.protocol ??
      reader.first(
        both(signal('PROTOCOL'), oneOf(OTLP_PROTOCOLS)),
        (raw) =>
          raw === 'grpc'
            ? 'supported: the gateway exports OTLP over HTTP only (point the endpoint at the collector\'s OTLP/HTTP port, usually 4318)'
            : `one of ${OTLP_PROTOCOLS.join(', ')}`,
        DEFAULTS.protocol,
      )
    const headers = { ...headerList(reader, 'OTEL_EXPORTER_OTLP_HEADERS'), ...headerList(reader, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'), ...options.headers }
    const timeoutMs = options.timeoutMs ?? reader.first(both(signal('TIMEOUT'), positiveNumber), 'a number of milliseconds greater than 0', DEFAULTS.timeoutMs)
    const compression = options.compression ?? reader.first(both(signal('COMPRESSION'), oneOf(OTLP_COMPRESSIONS)), 'gzip or none', DEFAULTS.compression)
    return { url, protocol, headers, timeoutMs, compression }
  }

  function resolveSampler(): SamplerSettings {
    const name: SamplerName =
      options.sampler ??
      (options.samplerRatio !== undefined ? 'parentbased_traceidratio' : undefined) ??
      reader.first([['OTEL_TRACES_SAMPLER', oneOf(SAMPLERS)]], `one of ${SAMPLERS.join(', ')}`, DEFAULTS.sampler)
    if (!RATIO_SAMPLERS.includes(name)) return { name }
    const arg =
      options.samplerArg ??
      options.samplerRatio ??
      reader.first([['OTEL_TRACES_SAMPLER_ARG', ratio]], 'a sampling ratio from 0 to 1', DEFAULTS.samplerArg)
    return { name, ratio: arg }
  }

  function resolveBatch(): BatchSettings {
    const ms = 'a number of milliseconds greater than 0'
    const count = 'a whole number greater than 0'
    const scheduledDelayMillis = options.scheduleDelayMs ?? reader.first([['OTEL_BSP_SCHEDULE_DELAY', positiveNumber]], ms, DEFAULTS.scheduledDelayMillis)
    const exportTimeoutMillis = options.exportTimeoutMs ?? reader.first([['OTEL_BSP_EXPORT_TIMEOUT', positiveNumber]], ms, DEFAULTS.exportTimeoutMillis)
    const maxQueueSize = options.maxQueueSize ?? reader.first([['OTEL_BSP_MAX_QUEUE_SIZE', positiveInteger]], count, DEFAULTS.maxQueueSize)
    const batchSize =
      options.maxExportBatchSize ??
      reader.first<number | undefined>([['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', positiveInteger]], count, undefined, `the default ${DEFAULTS.maxExportBatchSize}`)
    // A batch cannot be larger than the queue: the default shrinks quietly to a small queue; a size someone set is
    // clamped as the SDK would (it warns only on `diag`), and said where the operator looks.
    if (batchSize !== undefined && batchSize > maxQueueSize) {
      const from = options.maxExportBatchSize !== undefined ? 'option maxExportBatchSize' : 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'
      warn(`${from} ${batchSize} is larger than the queue (maxQueueSize ${maxQueueSize}); using ${maxQueueSize}`)
    }
    const maxExportBatchSize = Math.min(batchSize ?? DEFAULTS.maxExportBatchSize, maxQueueSize)
    return { scheduledDelayMillis, exportTimeoutMillis, maxQueueSize, maxExportBatchSize }
  }
}
