import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { shutdownTracing } from '../../plugins/otel/sdk.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { CAPTURE_CONTENT_ENV } from '../../src/telemetry/attributes.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { OTLP_KIND, type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.ts'
import { clientTraceparent, only, waitForTrace } from '../support/spans.ts'

// One process-wide provider for this file (http/json, content capture on); removed with its env switch in afterAll.
let receiver: OtlpReceiver
beforeAll(() => {
  receiver = startOtlpReceiver()
})
afterAll(async () => {
  await shutdownTracing()
  delete process.env[CAPTURE_CONTENT_ENV]
  await receiver.close()
})

describe('OTLP http/json and content capture', () => {
  test('with protocol http/json and captureContent, spans arrive as JSON carrying prompt and completion text', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      plugins: [...fastProbes, { use: 'otel', options: { endpoint: receiver.url, protocol: 'http/json', serviceName: 'switchyard-test', captureContent: true } }],
    })
    const client = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', headers: { traceparent: client.traceparent },
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'the secret prompt' }] }),
    })
    const answer = (await res.text()).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { message?: { content?: string } }).message?.content ?? '').join('')
    const spans = await waitForTrace(receiver, client.traceId, ['POST /api/chat', 'chat qwen2.5-coder:7b'])
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true)
    const server = only(spans, 'POST /api/chat')
    expect(server.service).toBe('switchyard-test')
    expect(server.kind).toBe(OTLP_KIND.server)
    const attempt = only(spans, 'chat qwen2.5-coder:7b')
    expect(attempt.kind).toBe(OTLP_KIND.client)
    const input = JSON.parse(String(attempt.attributes['gen_ai.input.messages']))
    expect(input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'the secret prompt' }] }])
    const output = JSON.parse(String(attempt.attributes['gen_ai.output.messages']))
    expect(output[0].role).toBe('assistant')
    expect(output[0].parts[0].content).toBe(answer)
    expect(answer.length).toBeGreaterThan(0)
  })
})
