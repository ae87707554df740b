/** The process-wide OpenTelemetry SDK behind the `otel` plugin: start once, reuse across reloads, flush, shut down at exit. */
import { ProxyTracerProvider, context, propagation, trace } from '@opentelemetry/api'
// The SDK and its exporters are loaded only when tracing starts: importing them costs ~33 MB of resident memory,
// which a gateway that does not trace should not carry.
import type { NodeSDK } from '@opentelemetry/sdk-node'
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace'
import type { Logger } from 'switchyard/plugin'
import type { DroppedSpans } from './dropped-spans.ts'
import type { Env } from './env.ts'
import type { TracingOptions } from './options.ts'
import { type SamplerSettings, type TracingOn, type TracingSettings, resolveTracingSettings } from './settings.ts'

/** What `startTracing` decided, for the log line and for tests. */
export type TracingState = 'started' | 'reused' | 'disabled'

interface Running {
  readonly sdk: NodeSDK
  readonly key: string
  readonly settings: TracingOn
  readonly dropped?: DroppedSpans
}

/**
 * The one SDK this process started. The OpenTelemetry API registers a single global provider per
 * process, so this mirrors that registration; it is the one piece of module state a plugin keeps.
 */
let running: Running | undefined

/** A flushable provider (the SDK's, ours or one a `--preload` registered) behind the API's proxy. */
function registeredProvider(): { forceFlush(): Promise<void> } | undefined {
  const global = trace.getTracerProvider()
  const delegate = global instanceof ProxyTracerProvider ? global.getDelegate() : global
  return 'forceFlush' in delegate && typeof delegate.forceFlush === 'function' ? (delegate as { forceFlush(): Promise<void> }) : undefined
}

/**
 * Register the SDK unless tracing is off (`OTEL_SDK_DISABLED=true`, exporter `none`, no OTLP endpoint and no
 * console exporter) or a provider is already registered (ours from an earlier config generation, or one the host
 * process set up): then reuse it. Changing any tracing setting takes a restart; the log says so.
 * `env` is the environment to read the `OTEL_*` variables from (tests pass their own).
 */
let queue: Promise<unknown> = Promise.resolve()

export function startTracing(options: TracingOptions, log: Logger, env: Env = process.env): Promise<TracingState> {
  // One at a time: the SDK loads asynchronously, and two config generations must not both register one.
  const next = queue.then(() => start(options, log, env))
  queue = next.catch(() => {})
  return next
}

async function start(options: TracingOptions, log: Logger, env: Env): Promise<TracingState> {
  // Warnings about the environment are said once, when a pipeline is set up (or found off), not on every reload.
  const warnings: string[] = []
  const settings = resolveTracingSettings(options, env, (w) => void warnings.push(w))
  const key = JSON.stringify(settings)
  if (running && registeredProvider()) {
    if (running.key !== key) log.warn('otel settings changed; the tracing pipeline (endpoint, protocol, sampler, batching, ...) changes after a restart')
    return 'reused'
  }
  if (registeredProvider()) {
    log.info('an OpenTelemetry tracer provider is already registered; using it')
    return 'reused'
  }
  for (const w of warnings) log.warn(w)
  if (settings.off !== undefined) {
    log.debug('tracing off', { reason: settings.off })
    return 'disabled'
  }
  const [{ NodeSDK }, sdkTrace] = await Promise.all([import('@opentelemetry/sdk-node'), import('@opentelemetry/sdk-trace')])
  const { processors, dropped } = await createSpanProcessors(settings, sdkTrace, log)
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    spanProcessors: processors,
    sampler: createSampler(settings.sampler, sdkTrace),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  })
  sdk.start()
  running = { sdk, key, settings, dropped }
  // Spans still queued when the event loop drains are exported; signals go through the gateway's close().
  process.once('beforeExit', () => void shutdownTracing())
  log.info('tracing on', {
    endpoint: settings.otlp?.url, protocol: settings.otlp?.protocol, console: settings.console || undefined, service: settings.serviceName,
    sampler: settings.sampler.ratio === undefined ? settings.sampler.name : `${settings.sampler.name}:${settings.sampler.ratio}`,
    scheduleDelayMs: settings.batch.scheduledDelayMillis,
  })
  return 'started'
}

type SdkTrace = typeof import('@opentelemetry/sdk-trace')

/** OTLP through a batch processor (drops counted), console through a simple one, as the SDK wires them from env. */
async function createSpanProcessors(settings: TracingOn, sdkTrace: SdkTrace, log: Logger): Promise<{ processors: SpanProcessor[]; dropped?: DroppedSpans }> {
  const processors: SpanProcessor[] = []
  let dropped: DroppedSpans | undefined
  if (settings.otlp) {
    const [{ FetchOtlpTraceExporter }, { startDroppedSpanCounter }] = await Promise.all([import('./exporter.ts'), import('./dropped-spans.ts')])
    const { url, protocol, ...http } = settings.otlp
    const exporter = new FetchOtlpTraceExporter(url, protocol === 'http/json' ? 'json' : 'protobuf', http)
    dropped = startDroppedSpanCounter({ log, maxQueueSize: settings.batch.maxQueueSize })
    processors.push(new sdkTrace.BatchSpanProcessor({ exporter, ...settings.batch, selfObsMeterProvider: dropped.meterProvider }))
  }
  if (settings.console) processors.push(new sdkTrace.SimpleSpanProcessor({ exporter: new sdkTrace.ConsoleSpanExporter() }))
  return { processors, dropped }
}

export function createSampler({ name, ratio = 1 }: SamplerSettings, sdkTrace: SdkTrace): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = sdkTrace
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler()
    case 'always_off':
      return new AlwaysOffSampler()
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio)
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) })
  }
}

/** The settings of the pipeline this process runs, when it started one (tests, diagnostics). */
export const runningTracing = (): TracingSettings | undefined => running?.settings

/** Spans dropped since tracing started, or undefined when tracing (or its batch exporter) is off. */
export const droppedSpans = (): number | undefined => running?.dropped?.total()

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
  current.dropped?.close()
  trace.disable()
  context.disable()
  propagation.disable()
}
