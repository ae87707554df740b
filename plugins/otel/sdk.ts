/** The process-wide OpenTelemetry SDK behind the `otel` plugin: start once, reuse across reloads, flush, shut down at exit. */
import { ProxyTracerProvider, context, propagation, trace } from '@opentelemetry/api'
// The SDK and its exporters are loaded only when tracing starts: importing them costs ~33 MB of resident memory,
// which a gateway that does not trace should not carry.
import type { NodeSDK } from '@opentelemetry/sdk-node'
import type { Logger } from 'switchyard/plugin'

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number]

export interface TracingOptions {
  readonly endpoint?: string
  readonly protocol?: OtlpProtocol
  readonly serviceName?: string
  readonly samplerRatio?: number
}

/** What `startTracing` decided, for the log line and for tests. */
export type TracingState = 'started' | 'reused' | 'disabled'

interface Running {
  readonly sdk: NodeSDK
  readonly key: string
}

/**
 * The one SDK this process started. The OpenTelemetry API registers a single global provider per
 * process, so this mirrors that registration; it is the one piece of module state a plugin keeps.
 */
let running: Running | undefined

const env = (name: string) => process.env[name]?.trim() || undefined

/** A flushable provider (the SDK's, ours or one a `--preload` registered) behind the API's proxy. */
function registeredProvider(): { forceFlush(): Promise<void> } | undefined {
  const global = trace.getTracerProvider()
  const delegate = global instanceof ProxyTracerProvider ? global.getDelegate() : global
  return 'forceFlush' in delegate && typeof delegate.forceFlush === 'function' ? (delegate as { forceFlush(): Promise<void> }) : undefined
}

function resolve(options: TracingOptions) {
  const endpoint = options.endpoint ?? env('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? env('OTEL_EXPORTER_OTLP_ENDPOINT')
  const protocol = options.protocol ?? env('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? env('OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf'
  const serviceName = options.serviceName ?? env('OTEL_SERVICE_NAME') ?? 'switchyard'
  return { endpoint, protocol, serviceName, samplerRatio: options.samplerRatio }
}

/**
 * Register the SDK unless tracing is off (no endpoint, `OTEL_SDK_DISABLED=true`,
 * `OTEL_TRACES_EXPORTER=none`) or a provider is already registered (ours from an earlier config
 * generation, or one the host process set up): then reuse it. Changing endpoint, protocol,
 * service name or sampler takes a restart; the log says so.
 */
let queue: Promise<unknown> = Promise.resolve()

export function startTracing(options: TracingOptions, log: Logger): Promise<TracingState> {
  // One at a time: the SDK loads asynchronously, and two config generations must not both register one.
  const next = queue.then(() => start(options, log))
  queue = next.catch(() => {})
  return next
}

async function start(options: TracingOptions, log: Logger): Promise<TracingState> {
  const r = resolve(options)
  const key = JSON.stringify(r)
  if (running && registeredProvider()) {
    if (running.key !== key) log.warn('otel options changed; endpoint, protocol, service name and sampler apply after a restart')
    return 'reused'
  }
  if (registeredProvider()) {
    log.info('an OpenTelemetry tracer provider is already registered; using it')
    return 'reused'
  }
  if (env('OTEL_SDK_DISABLED') === 'true' || env('OTEL_TRACES_EXPORTER') === 'none' || !r.endpoint) {
    log.debug('tracing off (no OTLP endpoint, or disabled by env)')
    return 'disabled'
  }
  if (r.protocol !== 'http/protobuf' && r.protocol !== 'http/json') {
    log.warn(`OTLP protocol "${r.protocol}" is not supported; using http/protobuf (port 4318)`)
  }
  // An explicit base endpoint gets the signal path; the per-signal env var is used as-is by the exporter.
  const url = options.endpoint ? `${options.endpoint.replace(/\/+$/, '')}/v1/traces` : undefined
  const [{ NodeSDK }, { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
  ])
  const { FetchOtlpTraceExporter } = await import('./exporter.ts')
  const exporter = new FetchOtlpTraceExporter(url, r.protocol === 'http/json' ? 'json' : 'protobuf')
  const sampler = r.samplerRatio === undefined ? undefined : new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(r.samplerRatio) })
  const sdk = new NodeSDK({
    serviceName: r.serviceName,
    spanProcessors: [new BatchSpanProcessor({ exporter })],
    sampler,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  })
  sdk.start()
  running = { sdk, key }
  // Spans still queued when the event loop drains are exported; signals go through the gateway's close().
  process.once('beforeExit', () => void shutdownTracing())
  log.info('tracing on', { endpoint: r.endpoint, protocol: r.protocol, service: r.serviceName })
  return 'started'
}

/** Export what is queued now; used by `close()` on a reload or shutdown, which must not stop tracing. */
export async function flushTracing(): Promise<void> {
  await registeredProvider()?.forceFlush()
}

/** Stop the SDK this process started and unregister the globals (process exit, and between test files). */
export async function shutdownTracing(): Promise<void> {
  const current = running
  running = undefined
  if (!current) return
  await current.sdk.shutdown().catch(() => {})
  trace.disable()
  context.disable()
  propagation.disable()
}
