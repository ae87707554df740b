/** Spans dropped because the export queue is full: counted, logged at most once per report interval, on /metrics. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace'
import type { Logger } from 'switchyard/plugin'
import { startDroppedSpanCounter } from '../../plugins/otel/dropped-spans.ts'
import { shutdownTracing } from '../../plugins/otel/sdk.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

/** A span exporter that holds every export until `release()`, then answers at once. */
function stuckExporter() {
  let released = false
  const waiting: (() => void)[] = []
  return {
    export(_spans: Parameters<SpanExporter['export']>[0], done: Parameters<SpanExporter['export']>[1]) {
      if (released) done({ code: 0 })
      else waiting.push(() => done({ code: 0 }))
    },
    shutdown: async () => {},
    release() {
      released = true
      for (const answer of waiting.splice(0)) answer()
    },
  }
}

/** A collector that answers nothing until `release()` (its exports pile up), then 200 to everything. */
function startStuckCollector() {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      await req.arrayBuffer()
      await released
      return new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, release, close: async () => void (await server.stop(true)) }
}

function collectingLogger() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = []
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields })
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { log, lines }
}

describe('dropped spans', () => {
  test('a full queue drops spans: each is counted, the first drop is logged at once and later ones together at the next report', async () => {
    const { log, lines } = collectingLogger()
    const dropped = startDroppedSpanCounter({ log, maxQueueSize: 2, reportEveryMs: 50 })
    const exporter = stuckExporter()
    const provider = new TracerProvider({
      spanProcessors: [
        new BatchSpanProcessor({ exporter, maxQueueSize: 2, maxExportBatchSize: 1, scheduledDelayMillis: 60_000, selfObsMeterProvider: dropped.meterProvider }),
      ],
    })
    const tracer = provider.getTracer('test')
    // The first span goes out in an export that hangs; two more fill the queue; the fourth has no room.
    for (let i = 0; i < 4; i++) tracer.startSpan(`span ${i}`).end()
    expect(dropped.total()).toBe(1)
    expect(lines).toEqual([{ level: 'warn', msg: expect.stringContaining('spans dropped: the export queue was full'), fields: { dropped: 1, total: 1, maxQueueSize: 2 } }])

    for (let i = 0; i < 3; i++) tracer.startSpan(`more ${i}`).end()
    expect(dropped.total()).toBe(4)
    await until(() => lines.length === 2, 3_000, 'the next report')
    expect(lines[1]!.fields).toEqual({ dropped: 3, total: 4, maxQueueSize: 2 })

    exporter.release()
    await provider.shutdown()
    dropped.close()
  })
})

describe('switchyard_otel_spans_dropped_total', () => {
  let collector: ReturnType<typeof startStuckCollector>
  beforeAll(() => {
    collector = startStuckCollector()
  })
  afterAll(async () => {
    collector.release()
    await shutdownTracing()
    await collector.close()
  })

  test('is on the prometheus plugin\'s /metrics and counts the spans an overflowing export queue dropped', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      plugins: [
        ...fastProbes,
        { use: 'prometheus' },
        { use: 'otel', options: { endpoint: collector.url, maxQueueSize: 2, maxExportBatchSize: 1 } },
      ],
    })
    const metric = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text()
      return Number(text.match(/^switchyard_otel_spans_dropped_total (\S+)$/m)?.[1])
    }
    expect(await metric()).toBe(0)
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'hi' }] }) })
      await res.text()
    }
    // The first span's export never returns, two wait in the queue, every later one is dropped.
    expect(await metric()).toBeGreaterThan(0)
    const text = await (await fetch(`${gw.url}/metrics`)).text()
    expect(text).toContain('# TYPE switchyard_otel_spans_dropped_total counter')
    // Closing the gateway flushes the queue: let the collector answer first.
    collector.release()
  })
})
