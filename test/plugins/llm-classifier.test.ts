/** llm-classifier: asks a scripted model server for a label; timeouts and garbage fall back with a reason. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import llmClassifier from '../../plugins/llm-classifier/index.ts'
import { parseLabel } from '../../plugins/llm-classifier/parse-label.ts'
import { keepNothing } from 'switchyard/plugin'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {}, messages: [{ role: 'user', content }],
})
const setupWith = (input: unknown) =>
  llmClassifier.setup({
    name: 'llm-classifier', options: v.parse(llmClassifier.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })
const signal = new AbortController().signal

/** A one-route model server answering every chat with `reply`, recording the bodies it received. */
function startScriptedModel(reply: string) {
  const bodies: Record<string, unknown>[] = []
  const authorizations: (string | null)[] = []
  const server = Bun.serve({
    port: 0, hostname: '127.0.0.1',
    async fetch(req) {
      const body = (await req.json()) as Record<string, unknown>
      bodies.push(body)
      authorizations.push(req.headers.get('authorization'))
      const path = new URL(req.url).pathname
      if (path === '/api/chat') return Response.json({ model: body.model, message: { role: 'assistant', content: reply }, done: true })
      if (path === '/v1/chat/completions') return Response.json({ choices: [{ index: 0, message: { role: 'assistant', content: reply } }] })
      return new Response('not found', { status: 404 })
    },
  })
  return { server, bodies, authorizations, url: `http://127.0.0.1:${server.port}` }
}

describe('llm-classifier', () => {
  test("a named backend's headers (its API key) go with every question", async () => {
    const m = startScriptedModel('SIMPLE')
    using _ = m.server
    const backends = [{ name: 'vllm', kind: 'openai' as const, url: m.url, headers: { authorization: 'Bearer backend-key' } }]
    const classifier = await llmClassifier.setup({
      name: 'llm-classifier', options: v.parse(llmClassifier.options, { backend: 'vllm', model: 'tiny' }),
      signal: new AbortController().signal, log, gateway: { backends }, baseDir: process.cwd(), keep: keepNothing,
    })
    expect((await classifier.classify(request('add a docstring'), signal)).label).toBe('SIMPLE')
    expect(m.authorizations).toEqual(['Bearer backend-key'])
  })

  test('returns the label an ollama model answers, asking with temperature 0 and no streaming', async () => {
    const m = startScriptedModel('COMPLEX')
    using _ = m.server
    const out = await (await setupWith({ url: m.url, kind: 'ollama', model: 'tiny' })).classify(request('design a compiler'), signal)
    expect(out).toMatchObject({ label: 'COMPLEX', confidence: 0.8, reasons: ['tiny says COMPLEX'] })
    expect(m.bodies[0]).toMatchObject({ model: 'tiny', stream: false, options: { temperature: 0 } })
  })

  test('parses a chatty openai-style answer', async () => {
    const m = startScriptedModel('  "simple".\n')
    using _ = m.server
    const out = await (await setupWith({ url: m.url, kind: 'openai' })).classify(request('what is 2+2'), signal)
    expect(out.label).toBe('SIMPLE')
    expect(m.bodies[0]).toMatchObject({ temperature: 0, stream: false })
  })

  test('falls back with low confidence when the reply is not a label', async () => {
    const m = startScriptedModel('I think it is hard\nor maybe not')
    using _ = m.server
    const out = await (await setupWith({ url: m.url, fallback: 'COMPLEX' })).classify(request('x'), signal)
    expect(out.label).toBe('COMPLEX')
    expect(out.confidence).toBeLessThan(0.5)
    expect(out.reasons[0]).toBe("llm reply not a label: 'I think it is hard or maybe not'")
  })

  test('falls back when the model does not answer within timeoutMs', async () => {
    using server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (req) => new Promise<Response>((resolve) => req.signal.addEventListener('abort', () => resolve(new Response(null)))) })
    const out = await (await setupWith({ url: `http://127.0.0.1:${server.port}`, timeoutMs: 100 })).classify(request('x'), signal)
    expect(out.label).toBe('MODERATE')
    expect(out.reasons).toEqual(['llm timed out after 100 ms', 'fallback MODERATE'])
  })

  test('label parsing ignores thinking and rejects contradictions', () => {
    expect(parseLabel('<think>could be SIMPLE</think>MODERATE')).toBe('MODERATE')
    expect(parseLabel('SIMPLE or COMPLEX')).toBeUndefined()
    expect(parseLabel('Complex.')).toBe('COMPLEX')
  })
})
