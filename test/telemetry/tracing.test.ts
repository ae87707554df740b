import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { shutdownTracing } from '../../plugins/otel/sdk.ts'
import { parseConfig } from '../../src/config/load.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { OTLP_KIND, OTLP_STATUS, type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.ts'
import { childrenOf, clientTraceparent, describeTree, only, waitForTrace } from '../support/spans.ts'

// The OpenTelemetry provider is process-wide: one receiver and one provider for this file, removed in afterAll.
let receiver: OtlpReceiver
beforeAll(() => {
  receiver = startOtlpReceiver()
})
afterAll(async () => {
  await shutdownTracing()
  await receiver.close()
})

const otel = () => ({ use: 'otel', options: { endpoint: receiver.url } })
const routes = { auto: { SIMPLE: ['qwen2.5-coder:7b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['qwen2.5-coder:7b'] } }

/** A pass-through in front of a simulator that records the headers the backend received. */
function startRecordingProxy(target: string) {
  const received: Headers[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      if (req.method === 'POST') received.push(req.headers)
      const body = req.method === 'POST' ? await req.arrayBuffer() : undefined
      return fetch(`${target}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body, signal: req.signal })
    },
  })
  const close = async () => void (await server.stop(true))
  return { url: `http://127.0.0.1:${server.port}`, port: server.port, received, [Symbol.asyncDispose]: close }
}

describe('traces', () => {
  test('an auto-routed request is one trace: SERVER span, classify and select, one CLIENT attempt, under the client traceparent', async () => {
    await using sim = startSimulator({ instant: true })
    await using proxy = startRecordingProxy(sim.url)
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: proxy.url }], routes, plugins: [...fastProbes, { use: 'keyword-classifier' }, otel()] })
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'auto', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'implement a function that adds numbers' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
    const spans = await waitForTrace(receiver, client.traceId, ['POST /v1/chat/completions', 'router.classify', 'router.select', 'chat qwen2.5-coder:7b'])
    const server = only(spans, 'POST /v1/chat/completions')
    expect(server.kind).toBe(OTLP_KIND.server)
    expect(server.parentSpanId).toBe(client.spanId)
    expect(server.service).toBe('switchyard')
    expect(server.status.code).toBe(OTLP_STATUS.unset)
    expect(server.attributes).toMatchObject({
      'switchyard.route': 'auto', 'switchyard.class': res.headers.get('x-switchyard-class')!, 'switchyard.classifier': 'keyword-classifier',
      'switchyard.backend': 'gpu0', 'switchyard.fallback_count': 0, 'http.response.status_code': 200, 'http.route': '/v1/chat/completions',
      'gen_ai.request.model': 'auto', 'gen_ai.response.model': 'qwen2.5-coder:7b',
      'switchyard.request_id': res.headers.get('x-switchyard-request-id')!,
    })
    expect(server.attributes['switchyard.confidence']).toBeNumber()
    expect(childrenOf(spans, server).map((s) => s.name).sort()).toEqual(['chat qwen2.5-coder:7b', 'router.classify', 'router.select'])

    const classify = only(spans, 'router.classify')
    expect(classify.kind).toBe(OTLP_KIND.internal)
    expect(classify.attributes['switchyard.class']).toBe(server.attributes['switchyard.class'])
    expect(classify.attributes['switchyard.reasons']).toBeArray()
    const select = only(spans, 'router.select')
    expect(select.attributes).toMatchObject({ 'switchyard.backend': 'gpu0', 'switchyard.candidates': ['qwen2.5-coder:7b'] })

    const attempt = only(spans, 'chat qwen2.5-coder:7b')
    expect(attempt.kind).toBe(OTLP_KIND.client)
    expect(attempt.parentSpanId).toBe(server.spanId)
    expect(attempt.status.code).toBe(OTLP_STATUS.unset)
    expect(attempt.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': 'qwen2.5-coder:7b', 'gen_ai.request.stream': true,
      'gen_ai.response.model': 'qwen2.5-coder:7b', 'gen_ai.response.finish_reasons': ['stop'], 'server.address': '127.0.0.1', 'server.port': proxy.port,
      'switchyard.backend': 'gpu0', 'switchyard.attempt': 0,
    })
    expect(attempt.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0)
    expect(attempt.attributes['gen_ai.response.time_to_first_chunk']).toBeNumber()
    expect(attempt.events.map((e) => e.name)).toContain('gen_ai.first_chunk')
    // Content is opt-in only.
    expect(attempt.attributes['gen_ai.input.messages']).toBeUndefined()
    expect(attempt.attributes['gen_ai.output.messages']).toBeUndefined()
    // W3C trace context end to end: the backend got the client's trace id with the attempt span as parent.
    expect(proxy.received.at(-1)?.get('traceparent')).toBe(`00-${client.traceId}-${attempt.spanId}-01`)
  })

  test('an escalation is a router.audit span with score, reasons and decision, and a second CLIENT span for the larger model', async () => {
    await using sim = startSimulator({ instant: true })
    const escalate = { auditor: 'verdict-auditor', classes: ['SIMPLE'] }
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], COMPLEX: ['deepseek-coder:33b'], escalate } },
      plugins: [...fastProbes, { use: './plugins/examples/length-classifier.ts' }, { use: './test/fixtures/plugins/verdict-auditor.ts' }, otel()],
    })
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'say hi [fail-draft]' }] }),
    })
    expect(res.headers.get('x-switchyard-escalated')).toBe('qwen2.5-coder:1.5b -> deepseek-coder:33b')
    await res.text()
    const spans = await waitForTrace(receiver, client.traceId, ['POST /v1/chat/completions', 'router.audit', 'chat qwen2.5-coder:1.5b', 'chat deepseek-coder:33b'])
    const server = only(spans, 'POST /v1/chat/completions')
    const audit = only(spans, 'router.audit')
    expect(audit.parentSpanId).toBe(server.spanId)
    expect(audit.attributes).toMatchObject({
      'switchyard.auditor': 'verdict-auditor', 'switchyard.model': 'qwen2.5-coder:1.5b', 'switchyard.audit.score': 0.1,
      'switchyard.audit.reasons': ['the test says this draft fails'], 'switchyard.audit.decision': 'fail',
    })
    const attempts = spans.filter((s) => s.kind === OTLP_KIND.client)
    expect(attempts.map((s) => s.name), describeTree(spans)).toEqual(['chat qwen2.5-coder:1.5b', 'chat deepseek-coder:33b'])
    for (const s of attempts) expect(s.parentSpanId).toBe(server.spanId)
  })

  test('a fallback shows as two sibling CLIENT attempts, the failed one with ERROR and error.type', async () => {
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using b = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      models: { 'qwen2.5-coder:7b': { fallbacks: ['qwen2.5-coder:1.5b'] } },
      plugins: [...fastProbes, otel()],
    })
    await fetch(`${a.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 1 }) })
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'hello' }] }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:1.5b')
    await res.text()
    const spans = await waitForTrace(receiver, client.traceId, ['POST /api/chat', 'chat qwen2.5-coder:7b', 'chat qwen2.5-coder:1.5b'])
    const server = only(spans, 'POST /api/chat')
    const attempts = spans.filter((s) => s.kind === OTLP_KIND.client)
    expect(attempts.map((s) => s.name), describeTree(spans)).toEqual(['chat qwen2.5-coder:7b', 'chat qwen2.5-coder:1.5b'])
    for (const s of attempts) expect(s.parentSpanId).toBe(server.spanId)
    const [failed, answered] = attempts
    expect(failed!.status.code).toBe(OTLP_STATUS.error)
    expect(failed!.attributes).toMatchObject({ 'error.type': '500', 'switchyard.backend': 'a', 'switchyard.attempt': 0 })
    expect(answered!.status.code).toBe(OTLP_STATUS.unset)
    expect(answered!.attributes).toMatchObject({ 'switchyard.backend': 'b', 'switchyard.attempt': 1, 'gen_ai.usage.output_tokens': expect.any(Number) })
    expect(server.status.code).toBe(OTLP_STATUS.unset)
    expect(server.attributes).toMatchObject({ 'switchyard.fallback_count': 1, 'switchyard.backend': 'b', 'gen_ai.response.model': 'qwen2.5-coder:1.5b' })
  })

  test('a cache hit has a cache.lookup span marked hit and no upstream attempt', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...fastProbes, { use: 'memory-cache' }, otel()] })
    const body = JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, options: { temperature: 0 }, messages: [{ role: 'user', content: 'cache me' }] })
    const first = clientTraceparent()
    await (await fetch(`${gw.url}/api/chat`, { method: 'POST', headers: { traceparent: first.traceparent }, body })).text()
    const second = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', headers: { traceparent: second.traceparent }, body })
    expect(res.headers.get('x-switchyard-cache')).toBe('hit')
    await res.text()

    const miss = await waitForTrace(receiver, first.traceId, ['POST /api/chat', 'cache.lookup', 'chat qwen2.5-coder:7b'])
    expect(only(miss, 'cache.lookup').attributes['switchyard.cache']).toBe('miss')
    expect(only(miss, 'POST /api/chat').attributes['switchyard.cache']).toBe('miss')

    const hit = await waitForTrace(receiver, second.traceId, ['POST /api/chat', 'cache.lookup'])
    const server = only(hit, 'POST /api/chat')
    const lookup = only(hit, 'cache.lookup')
    expect(lookup.parentSpanId).toBe(server.spanId)
    expect(lookup.attributes['switchyard.cache']).toBe('hit')
    expect(server.attributes['switchyard.cache']).toBe('hit')
    expect(hit.filter((s) => s.kind === OTLP_KIND.client)).toEqual([])
  })

  test('a client abort mid-stream ends the SERVER and CLIENT spans once, with ERROR and error.type cancelled', async () => {
    await using sim = startSimulator({ speed: 5, outputTokens: 400 })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...fastProbes, otel()] })
    const client = clientTraceparent()
    const controller = new AbortController()
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { traceparent: client.traceparent }, signal: controller.signal,
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: true, max_tokens: 400, messages: [{ role: 'user', content: 'long answer' }] }),
    })
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    const spans = await waitForTrace(receiver, client.traceId, ['POST /v1/chat/completions', 'chat qwen2.5-coder:7b'])
    const server = only(spans, 'POST /v1/chat/completions')
    const attempt = only(spans, 'chat qwen2.5-coder:7b')
    for (const span of [server, attempt]) {
      expect(span.status.code).toBe(OTLP_STATUS.error)
      expect(span.attributes['error.type']).toBe('cancelled')
      expect(span.endNs).toBeGreaterThan(span.startNs)
    }
  })

  test('a backend dropping the stream after the first byte ends the SERVER and CLIENT spans with ERROR', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...fastProbes, otel()] })
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 1 }) })
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'dropped' }] }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('"error"')
    const spans = await waitForTrace(receiver, client.traceId, ['POST /api/chat', 'chat qwen2.5-coder:7b'])
    for (const span of [only(spans, 'POST /api/chat'), only(spans, 'chat qwen2.5-coder:7b')]) {
      expect(span.status.code).toBe(OTLP_STATUS.error)
      expect(span.attributes['error.type']).toBeDefined()
    }
  })

  test('a config reload keeps the process-wide provider: requests after the reload are still traced', async () => {
    await using sim = startSimulator({ instant: true })
    const config = { backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...fastProbes, otel()] }
    await using gw = await startGateway(config)
    await gw.gateway.reload({ config: parseConfig({ ...config, server: { maxAttempts: 1 } }), path: undefined, baseDir: process.cwd() })
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'after reload' }] }),
    })
    await res.text()
    const spans = await waitForTrace(receiver, client.traceId, ['POST /api/chat', 'chat qwen2.5-coder:7b'])
    expect(only(spans, 'chat qwen2.5-coder:7b').parentSpanId).toBe(only(spans, 'POST /api/chat').spanId)
  })

  test('no backend for a model is a SERVER span with ERROR and the error code as error.type', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      health: { failureThreshold: 1, openMs: 60_000 },
      server: { maxAttempts: 1 },
      plugins: [...fastProbes, otel()],
    })
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 1 }) })
    const chat = (traceparent: string) =>
      fetch(`${gw.url}/api/chat`, { method: 'POST', headers: { traceparent }, body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'x' }] }) })
    expect((await chat(clientTraceparent().traceparent)).status).toBe(502)
    const client = clientTraceparent()
    const res = await chat(client.traceparent)
    expect(res.status).toBe(503)
    const spans = await waitForTrace(receiver, client.traceId, ['POST /api/chat', 'router.select'])
    const server = only(spans, 'POST /api/chat')
    expect(server.status.code).toBe(OTLP_STATUS.error)
    expect(server.attributes).toMatchObject({ 'error.type': 'no_backend', 'http.response.status_code': 503 })
    expect(only(spans, 'router.select').status.code).toBe(OTLP_STATUS.error)
    expect(spans.filter((s) => s.kind === OTLP_KIND.client)).toEqual([])
  })
})
