import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

const ENDPOINTS = ['/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/router/explain'] as const

const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null))
const junk = fc.jsonValue({ maxDepth: 3 })
const model = fc.oneof(fc.constantFrom('qwen2.5-coder:1.5b', 'auto', 'llama3.2', 'nope:1b', ''), scalar)
const content = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.record({ type: fc.constantFrom('text', 'image_url', 'x'), text: fc.option(fc.string({ maxLength: 50 })) }), { maxLength: 3 }), scalar)
const message = fc.oneof(fc.record({ role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool'), scalar), content }, { requiredKeys: [] }), junk)
const body = fc.record(
  {
    model,
    messages: fc.oneof(fc.array(message, { maxLength: 4 }), junk),
    prompt: fc.oneof(fc.string({ maxLength: 100 }), junk),
    input: fc.oneof(fc.string({ maxLength: 50 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), junk),
    stream: fc.oneof(fc.boolean(), scalar),
    options: fc.oneof(fc.record({ num_predict: fc.oneof(fc.integer({ min: -2, max: 8 }), scalar), temperature: fc.oneof(fc.double(), scalar) }, { requiredKeys: [] }), junk),
    max_tokens: fc.oneof(fc.integer({ min: -1, max: 8 }), scalar),
    extra_field: junk,
  },
  { requiredKeys: [] },
)
const rawBody = fc.oneof(
  body.map((b) => JSON.stringify(b)),
  fc.string({ maxLength: 80 }),
  junk.map((j) => JSON.stringify(j)),
)

describe('fuzzed request bodies', () => {
  test('never get a 5xx from the gateway itself, and errors come in the caller protocol shape', async () => {
    await using sim = startSimulator({ instant: true, outputTokens: 4 })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), rawBody, async (path, text) => {
        const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: text })
        const out = await res.text()
        expect(res.status).toBeLessThan(500)
        if (res.status >= 400) {
          const json = JSON.parse(out)
          if (path.startsWith('/api/')) expect(typeof json.error).toBe('string')
          else expect(typeof json.error.message).toBe('string')
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400), seed: Number(process.env.FUZZ_SEED ?? 20261123) },
    )
    expect((await fetch(`${gw.url}/health/live`)).status).toBe(200)
    expect(gw.gateway.deps.health.views()[0]?.inFlight).toBe(0)
  }, 30_000)
})
