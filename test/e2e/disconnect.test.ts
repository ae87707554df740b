import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

describe('client disconnects', () => {
  for (const [path, body] of [
    ['/api/chat', { model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'long answer' }], options: { num_predict: 400 } }],
    ['/v1/chat/completions', { model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'long answer' }], stream: true, max_tokens: 400 }],
  ] as const) {
    test(`a client leaving mid-stream on ${path} cancels the upstream generation`, async () => {
      await using sim = startSimulator({ speed: 5, outputTokens: 400 })
      await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
      const controller = new AbortController()
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: JSON.stringify(body), signal: controller.signal })
      const reader = res.body!.getReader()
      await reader.read()
      controller.abort()
      await until(() => sim.stats().aborted === 1, 3_000, 'the simulator to see the abort')
      await until(() => sim.stats().active === 0, 3_000, 'no active generation')
      await until(() => gw.gateway.deps.health.views()[0]?.inFlight === 0, 3_000, 'gateway in-flight count back to 0')
      expect(gw.gateway.deps.health.circuit('gpu0')).toBe('closed')
    })
  }

  test('a client leaving before a non-streamed answer cancels the upstream request', async () => {
    await using sim = startSimulator({ speed: 5, outputTokens: 400 })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const controller = new AbortController()
    const pending = fetch(`${gw.url}/api/chat`, {
      method: 'POST', signal: controller.signal,
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'x' }], options: { num_predict: 400 } }),
    }).catch(() => undefined)
    await until(() => sim.stats().active === 1, 3_000, 'the generation to start')
    controller.abort()
    await pending
    await until(() => sim.stats().aborted === 1, 3_000, 'the simulator to see the abort')
  })
})
