/**
 * The OTLP/HTTP trace exporter with a transport on Bun's `fetch` and the protobuf encoder of protobuf.ts (the SDK's
 * bytes for half the CPU). The rest is the SDK's own: the exporter base (bounded export queue, self-metrics) and the
 * JSON serializer. The endpoint, header, timeout and compression settings come resolved from the plugin (settings.ts,
 * which reads the standard `OTEL_EXPORTER_OTLP_*` variables once and says which value it could not parse); used on its
 * own, without them, the exporter reads those variables through the SDK's configuration helpers.
 *
 * Why: the SDK's Node transport pipes each export through a `node:http` request, which under Bun cost the gateway
 * ~20 µs of CPU per traced request at saturation (BENCHMARKS.md); `fetch` sends the same bytes for close to nothing.
 */
import { diag } from '@opentelemetry/api'
import {
  CompressionAlgorithm,
  type ExportResponse,
  type IExporterTransport,
  OTLPExporterBase,
  OTLPExporterError,
  createOtlpNetworkExportDelegate,
  getSharedConfigurationDefaults,
  mergeOtlpSharedConfigurationWithDefaults,
} from '@opentelemetry/otlp-exporter-base'
import { convertLegacyHttpOptions, createOtlpHttpExporterMetrics } from '@opentelemetry/otlp-exporter-base/node-http'
import { JsonTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { LeanProtobufTraceSerializer } from './protobuf.ts'

export type OtlpEncoding = 'protobuf' | 'json'

/** Export settings resolved by the plugin; the exporter then reads no variable itself. */
export interface OtlpHttpSettings {
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly compression: 'gzip' | 'none'
}

/** The semantic-conventions component type of an OTLP/HTTP span exporter (its self-metrics carry it). */
const COMPONENT_TYPE = 'otlp_http_span_exporter'
const USER_AGENT = 'switchyard OTel-OTLP-Exporter-JavaScript'

/** As the SDK's retrying transport: 5 retries, backoff from 1 s by 1.5x up to 5 s with ±20% jitter, within the timeout. */
const RETRIES = 5
const INITIAL_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 5_000

interface TransportParameters {
  readonly url: string
  readonly headers: () => Promise<Record<string, string>> | Record<string, string>
  readonly compression: 'gzip' | 'none'
}

const retryable = (status: number) => status === 429 || status === 502 || status === 503 || status === 504

/** `Retry-After` in seconds or as an HTTP date, in milliseconds. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined
  const seconds = Number.parseInt(header, 10)
  if (Number.isInteger(seconds)) return Math.max(0, seconds * 1_000)
  const at = new Date(header).getTime()
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** One POST per export; network errors and 429/502/503/504 are retryable, other non-2xx answers are not. */
class FetchTransport implements IExporterTransport {
  constructor(private readonly parameters: TransportParameters) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const headers: Record<string, string> = { ...(await this.parameters.headers()), 'user-agent': USER_AGENT }
    // The serializers hand over a Uint8Array on an ArrayBuffer (never a shared one).
    let body = data as Uint8Array<ArrayBuffer>
    if (this.parameters.compression === 'gzip') {
      body = Bun.gzipSync(body)
      headers['content-encoding'] = 'gzip'
    }
    try {
      const res = await fetch(this.parameters.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMillis) })
      const answer = new Uint8Array(await res.arrayBuffer())
      if (res.ok) return { status: 'success', data: answer }
      if (retryable(res.status)) return { status: 'retryable', retryInMillis: retryAfterMs(res.headers.get('retry-after')) }
      return { status: 'failure', error: new OTLPExporterError(res.statusText, res.status, new TextDecoder().decode(answer)) }
    } catch (error) {
      return { status: 'retryable', error: error instanceof Error ? error : new Error(String(error)) }
    }
  }

  shutdown(): void {}
}

/** Retries a retryable answer with backoff while the export's timeout allows. */
class RetryingTransport implements IExporterTransport {
  constructor(private readonly inner: IExporterTransport) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis
    let backoff = INITIAL_BACKOFF_MS
    let result = await this.inner.send(data, timeoutMillis)
    for (let retries = RETRIES; result.status === 'retryable' && retries > 0; retries--) {
      const waitMs = result.retryInMillis ?? Math.min(backoff * (1 + (Math.random() * 0.4 - 0.2)), MAX_BACKOFF_MS)
      backoff *= 1.5
      const remaining = deadline - Date.now()
      if (waitMs > remaining) {
        diag.info(`OTLP export retry in ${Math.round(waitMs)} ms would pass the export timeout; not retrying`)
        return result
      }
      await Bun.sleep(waitMs)
      result = await this.inner.send(data, deadline - Date.now())
    }
    return result
  }

  shutdown(): void {
    this.inner.shutdown()
  }
}

/** The exporter configuration from resolved settings: the SDK's shared defaults (concurrency) and nothing from env. */
function resolvedOptions(url: string, contentType: string, settings: OtlpHttpSettings) {
  const headers = { ...settings.headers, 'Content-Type': contentType }
  const compression = settings.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE
  const shared = mergeOtlpSharedConfigurationWithDefaults({ timeoutMillis: settings.timeoutMs, compression }, {}, getSharedConfigurationDefaults())
  return { ...shared, url, headers: () => headers }
}

/**
 * A span exporter to `url`, protobuf or JSON encoded, with `settings` as given; without settings, the endpoint (when
 * `url` is undefined), headers, timeout and compression come from the `OTEL_EXPORTER_OTLP_*` variables.
 */
export class FetchOtlpTraceExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(url: string, encoding: OtlpEncoding, settings: OtlpHttpSettings)
  constructor(url: string | undefined, encoding: OtlpEncoding)
  constructor(url: string | undefined, encoding: OtlpEncoding, settings?: OtlpHttpSettings) {
    const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf'
    const options =
      settings && url !== undefined
        ? resolvedOptions(url, contentType, settings)
        : convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', { 'Content-Type': contentType })
    const serializer = encoding === 'json' ? JsonTraceSerializer : LeanProtobufTraceSerializer
    const metrics = createOtlpHttpExporterMetrics(COMPONENT_TYPE, TraceExporterMetricsHelper, options.url, undefined)
    const transport = new RetryingTransport(new FetchTransport(options))
    super(createOtlpNetworkExportDelegate(options, serializer, metrics, transport))
  }
}
