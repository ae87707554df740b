import { describe, expect, test } from 'bun:test'
import { ProxyTracerProvider, trace } from '@opentelemetry/api'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { clientTraceparent } from '../support/spans.ts'

describe('tracing off', () => {
  test('without an OTLP endpoint the otel plugin registers nothing and the client traceparent reaches the backend unchanged', async () => {
    expect(process.env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined()
    await using sim = startSimulator({ instant: true })
    const received: (string | null)[] = []
    await using proxy = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch(req) {
        const url = new URL(req.url)
        if (req.method === 'POST') received.push(req.headers.get('traceparent'))
        const body = req.method === 'POST' ? await req.arrayBuffer() : undefined
        return fetch(`${sim.url}${url.pathname}`, { method: req.method, headers: req.headers, body })
      },
    })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: `http://127.0.0.1:${proxy.port}` }], plugins: [...fastProbes, { use: 'otel' }] })
    const provider = trace.getTracerProvider() as ProxyTracerProvider
    expect('forceFlush' in provider.getDelegate()).toBe(false)
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
    expect(received).toEqual([client.traceparent])
  })
})
