/**
 * A tracing pipeline started from OTEL_* variables (an env object, not process.env): what the running pipeline
 * was built with, and what reaches the collector without any flush.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Logger } from 'switchyard/plugin'
import { runningTracing, shutdownTracing, startTracing } from '../../plugins/otel/sdk.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { OTLP_KIND, type ReceivedSpan, decodeProtobuf } from '../support/otlp-receiver.ts'
import { clientTraceparent, flushSpans } from '../support/spans.ts'
import { until } from '../support/until.ts'

interface Export {
  readonly path: string
  readonly headers: Headers
  readonly spans: ReceivedSpan[]
}

/** A collector that records each export's path and headers, and its spans (gunzipped when sent gzip). */
function startCollector() {
  const exports: Export[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      let body = new Uint8Array(await req.arrayBuffer())
      if (req.headers.get('content-encoding') === 'gzip') body = Bun.gunzipSync(body)
      exports.push({ path: new URL(req.url).pathname, headers: req.headers, spans: decodeProtobuf(body) })
      return new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, exports, close: async () => void (await server.stop(true)) }
}

const lines: string[] = []
const log: Logger = {
  debug: (msg) => void lines.push(`debug ${msg}`),
  info: (msg) => void lines.push(`info ${msg}`),
  warn: (msg) => void lines.push(`warn ${msg}`),
  error: (msg) => void lines.push(`error ${msg}`),
}

// One process-wide provider for this file, set up from the env object below and removed in afterAll.
let collector: ReturnType<typeof startCollector>
beforeAll(async () => {
  collector = startCollector()
  const env = {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/collector/traces`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=team-a',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_SERVICE_NAME: 'gateway-from-env',
    OTEL_TRACES_SAMPLER: 'parentbased_always_off',
  }
  expect(await startTracing({}, log, env)).toBe('started')
})
afterAll(async () => {
  await shutdownTracing()
  await collector.close()
})

const spans = () => collector.exports.flatMap((e) => e.spans)

/** A gateway over a simulator; the otel plugin is not listed: the process-wide provider started above traces it. */
async function startTracedGateway() {
  const sim = startSimulator({ instant: true })
  const gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...fastProbes, { use: 'prometheus' }] })
  const chat = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', headers, body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    })
    await res.text()
    return res.headers.get('x-switchyard-request-id')!
  }
  const close = async () => {
    await gw.close()
    await sim[Symbol.asyncDispose]()
  }
  return { chat, [Symbol.asyncDispose]: close }
}

describe('a pipeline from OTEL_* variables', () => {
  test('OTEL_BSP_SCHEDULE_DELAY=200: the batch processor runs with a 200 ms delay, and spans arrive with no flush', async () => {
    expect(runningTracing()).toMatchObject({ batch: { scheduledDelayMillis: 200, exportTimeoutMillis: 30_000, maxQueueSize: 2_048, maxExportBatchSize: 512 } })
    await using gw = await startTracedGateway()
    const client = clientTraceparent()
    await gw.chat({ traceparent: client.traceparent })
    // The default delay (5 s) would not send them within until()'s 3 s; nothing here forces a flush.
    await until(() => spans().some((s) => s.traceId === client.traceId && s.kind === OTLP_KIND.server), 3_000, 'the SERVER span without a flush')
    expect(lines.filter((l) => l.startsWith('warn'))).toEqual([])
  })

  test('the traces endpoint is used as-is, with the OTEL_EXPORTER_OTLP_HEADERS, gzip and the OTEL_SERVICE_NAME', async () => {
    await using gw = await startTracedGateway()
    const client = clientTraceparent()
    await gw.chat({ traceparent: client.traceparent })
    await flushSpans()
    const first = collector.exports.find((e) => e.spans.some((s) => s.traceId === client.traceId))
    expect(first!.path).toBe('/collector/traces')
    expect(first!.headers.get('x-tenant')).toBe('team-a')
    expect(first!.headers.get('content-encoding')).toBe('gzip')
    expect(first!.headers.get('content-type')).toBe('application/x-protobuf')
    expect(new Set(first!.spans.map((s) => s.service))).toEqual(new Set(['gateway-from-env']))
  })

  test('OTEL_TRACES_SAMPLER=parentbased_always_off: a request without a sampled parent is not traced, one with it is', async () => {
    await using gw = await startTracedGateway()
    const unsampled = await gw.chat()
    const client = clientTraceparent()
    const sampled = await gw.chat({ traceparent: client.traceparent })
    await flushSpans()
    const servers = spans().filter((s) => s.kind === OTLP_KIND.server && s.attributes['switchyard.request_id'] !== undefined)
    const ids = servers.map((s) => s.attributes['switchyard.request_id'])
    expect(ids).toContain(sampled)
    expect(ids).not.toContain(unsampled)
  })
})
