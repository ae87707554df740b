/** The real gateway process reads the OTEL_* variables from its environment (default plugins, no otel options). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes } from '../support/gateway.ts'
import { OTLP_KIND } from '../support/otlp-receiver.ts'
import { startGatewayProcess } from '../support/process.ts'
import { clientTraceparent } from '../support/spans.ts'
import { until } from '../support/until.ts'

const ROOT = resolve(import.meta.dir, '../..')

type JsonKv = { key: string; value: { stringValue?: string } }
interface JsonExport {
  readonly resourceSpans: { resource: { attributes: JsonKv[] }; scopeSpans: { spans: { traceId: string; name: string; kind: number }[] }[] }[]
}

/** An OTLP http/json collector keeping each export body as sent (resource attributes included). */
function startJsonCollector() {
  const exports: JsonExport[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      if (new URL(req.url).pathname !== '/v1/traces' || !req.headers.get('content-type')?.includes('json')) return new Response('no', { status: 400 })
      exports.push((await req.json()) as JsonExport)
      return Response.json({})
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, exports, close: async () => void (await server.stop(true)) }
}

let collector: ReturnType<typeof startJsonCollector>
beforeAll(() => {
  collector = startJsonCollector()
})
afterAll(async () => {
  await collector.close()
})

/** The resource attributes of the export that carried `traceId`'s SERVER span, once one has. */
function resourceOf(traceId: string): Record<string, string | undefined> | undefined {
  for (const e of collector.exports) {
    for (const rs of e.resourceSpans) {
      if (rs.scopeSpans.some((ss) => ss.spans.some((s) => s.traceId === traceId && s.kind === OTLP_KIND.server))) {
        return Object.fromEntries(rs.resource.attributes.map((kv) => [kv.key, kv.value.stringValue]))
      }
    }
  }
  return undefined
}

/** A config over `simUrl` that names no telemetry plugin, so `otel` runs by default and takes its settings from env. */
async function writeConfig(simUrl: string): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'sy-otel-')), 'switchyard.config.json')
  await Bun.write(path, JSON.stringify({ backends: [{ name: 'gpu0', kind: 'ollama', url: simUrl }], plugins: fastProbes }))
  return path
}

const chat = (url: string, traceparent: string) =>
  fetch(`${url}/api/chat`, {
    method: 'POST', headers: { traceparent },
    body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
  }).then((res) => res.text())

/** Everything a child's stream has written so far. */
function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = ''
  const decoder = new TextDecoder()
  void (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true })
  })()
  return () => text
}

describe('the gateway process and OTEL_* variables', () => {
  test('OTEL_BSP_SCHEDULE_DELAY=200 sends spans without a flush; OTEL_RESOURCE_ATTRIBUTES reaches the resource; a bad value only warns', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGatewayProcess(await writeConfig(sim.url), {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-process,deployment.environment=test',
      OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
    })
    const client = clientTraceparent()
    await chat(gw.url, client.traceparent)
    // A gateway process cannot be flushed from here: with the default 5 s delay nothing would arrive within 3 s.
    await until(() => resourceOf(client.traceId) !== undefined, 3_000, 'the SERVER span')
    expect(resourceOf(client.traceId)).toMatchObject({ 'service.name': 'from-process', 'deployment.environment': 'test' })
    expect(gw.log()).toContain('OTEL_BSP_MAX_QUEUE_SIZE="lots" is not a whole number greater than 0; using the default 2048')
    expect(gw.log()).toContain('tracing on')
  })

  test('OTEL_TRACES_EXPORTER=console prints spans on stdout with no endpoint set', async () => {
    await using sim = startSimulator({ instant: true })
    const proc = Bun.spawn([process.execPath, 'src/main.ts', '--config', await writeConfig(sim.url), '--port', '0'], {
      cwd: ROOT, env: { ...process.env, OTEL_TRACES_EXPORTER: 'console' }, stdout: 'pipe', stderr: 'pipe',
    })
    await using _child = {
      async [Symbol.asyncDispose]() {
        proc.kill('SIGKILL')
        await proc.exited
      },
    }
    const stdout = collect(proc.stdout)
    const stderr = collect(proc.stderr)
    await until(() => /listening on http:\/\/[\d.]+:\d+/.test(stderr()), 4_000, 'the gateway to listen')
    const url = stderr().match(/listening on (http:\/\/[\d.]+:\d+)/)![1]!
    const client = clientTraceparent()
    await chat(url, client.traceparent)
    await until(() => stdout().includes(client.traceId) && stdout().includes('POST /api/chat'), 3_000, 'the SERVER span on stdout')
  })
})
