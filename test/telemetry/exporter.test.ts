/** The OTLP/HTTP exporter on fetch: env headers and compression, retries on 503 with Retry-After, no retry on 400. */
import { afterEach, describe, expect, test } from 'bun:test'
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { FetchOtlpTraceExporter } from '../../plugins/otel/exporter.ts'
import { decodeProtobuf } from '../support/otlp-receiver.ts'

interface Seen {
  readonly headers: Headers
  readonly body: Uint8Array<ArrayBuffer>
}

/** A receiver answering from a script of statuses (then 200), recording each request. */
function receiver(statuses: number[] = []) {
  const seen: Seen[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      seen.push({ headers: req.headers, body: new Uint8Array(await req.arrayBuffer()) })
      const status = statuses.shift() ?? 200
      return new Response(status === 200 ? new Uint8Array() : 'busy', { status, headers: status === 503 ? { 'retry-after': '0' } : {} })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/v1/traces`, seen, [Symbol.asyncDispose]: async () => void (await server.stop(true)) }
}

/** Exports one span through a real SDK provider; resolves when the processor has handed it to the exporter. */
async function exportOne(exporter: FetchOtlpTraceExporter, name: string): Promise<{ code: number }> {
  let result: { code: number } | undefined
  const wrapped = {
    export: (spans: Parameters<typeof exporter.export>[0], done: Parameters<typeof exporter.export>[1]) =>
      exporter.export(spans, (r) => {
        result = r
        done(r)
      }),
    shutdown: () => exporter.shutdown(),
  }
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: wrapped })] })
  provider.getTracer('test').startSpan(name).end()
  // A failed export also rejects the flush; the result above says how it went.
  await provider.forceFlush().catch(() => {})
  await provider.shutdown().catch(() => {})
  return result!
}

const ENV = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_COMPRESSION'] as const
afterEach(() => {
  for (const name of ENV) delete process.env[name]
})

describe('FetchOtlpTraceExporter', () => {
  test('sends protobuf with the OTLP env headers, gzip-compressed when the env asks', async () => {
    await using sink = receiver()
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=team-a'
    process.env.OTEL_EXPORTER_OTLP_COMPRESSION = 'gzip'
    expect(await exportOne(new FetchOtlpTraceExporter(sink.url, 'protobuf'), 'compressed')).toEqual({ code: 0 })
    const [request] = sink.seen
    expect(request!.headers.get('content-type')).toBe('application/x-protobuf')
    expect(request!.headers.get('content-encoding')).toBe('gzip')
    expect(request!.headers.get('x-tenant')).toBe('team-a')
    expect(request!.headers.get('user-agent')).toContain('OTel-OTLP-Exporter-JavaScript')
    expect(decodeProtobuf(Bun.gunzipSync(request!.body)).map((s) => s.name)).toEqual(['compressed'])
  })

  test('a 503 with Retry-After is retried; a 400 is not', async () => {
    await using busy = receiver([503, 503])
    expect(await exportOne(new FetchOtlpTraceExporter(busy.url, 'protobuf'), 'retried')).toEqual({ code: 0 })
    expect(busy.seen).toHaveLength(3)
    expect(decodeProtobuf(busy.seen[2]!.body).map((s) => s.name)).toEqual(['retried'])

    await using rejecting = receiver([400])
    expect((await exportOne(new FetchOtlpTraceExporter(rejecting.url, 'protobuf'), 'rejected')).code).toBe(1)
    expect(rejecting.seen).toHaveLength(1)
  })

  test('json encoding sends the OTLP JSON body', async () => {
    await using sink = receiver()
    await exportOne(new FetchOtlpTraceExporter(sink.url, 'json'), 'as-json')
    expect(sink.seen[0]!.headers.get('content-type')).toBe('application/json')
    const body = JSON.parse(new TextDecoder().decode(sink.seen[0]!.body))
    expect(body.resourceSpans[0].scopeSpans[0].spans[0].name).toBe('as-json')
  })
})
