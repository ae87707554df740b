import { describe, expect, test } from 'bun:test'
import { preferBackend } from '../../src/pipeline/affinity.ts'
import { parseConfig } from '../../src/config/load.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }
const system = { role: 'system', content: 'You are a senior engineer.' }
const first = { role: 'user', content: 'Design a distributed rate limiter service with Redis: the data model, the Lua scripts, failure handling when Redis is down, and a test plan. Write the full TypeScript implementation with classes for the limiter, the store and the HTTP middleware.' }
const turns = [system, first, { role: 'assistant', content: 'Here is the design...' }, { role: 'user', content: 'thanks!' }]

const ask = async (url: string, messages: unknown[], headers: Record<string, string> = {}) => {
  const res = await fetch(`${url}/api/chat`, { method: 'POST', headers, body: JSON.stringify({ model: 'auto', stream: false, messages }) })
  await res.text()
  return { label: res.headers.get('x-switchyard-class'), reason: res.headers.get('x-switchyard-reason') ?? '', backend: res.headers.get('x-switchyard-backend') }
}

describe('conversation affinity', () => {
  test('a later turn of a conversation never steps down from the class it reached, across a reload; another conversation starts fresh', async () => {
    await using sim = startSimulator({ instant: true })
    const config = { backends: [{ name: 'sim', kind: 'ollama', url: sim.url }], routes, plugins: [{ use: 'heuristic-classifier' }, ...fastProbes] }
    await using gw = await startGateway(config)
    // The opening turn is COMPLEX (forced here, so the test does not depend on a classifier's judgement).
    const opening = await ask(gw.url, [system, first], { 'x-switchyard-class': 'COMPLEX' })
    expect(opening.label).toBe('COMPLEX')
    // Alone, "thanks!" is a simple message.
    expect((await ask(gw.url, [{ role: 'user', content: 'thanks!' }])).label).toBe('SIMPLE')
    const later = await ask(gw.url, turns)
    expect(later.label).toBe('COMPLEX')
    expect(later.reason).toContain('affinity: conversation reached COMPLEX')
    await gw.gateway.reload({ config: parseConfig(config), path: undefined, baseDir: process.cwd() })
    expect((await ask(gw.url, [...turns, { role: 'assistant', content: 'you are welcome' }, { role: 'user', content: 'bye' }])).label).toBe('COMPLEX')
    // A different system prompt is a different conversation.
    const other = await ask(gw.url, [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'thanks!' }])
    expect(other.label).toBe('SIMPLE')
  })

  test('a route with affinity off classifies every turn on its own', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'sim', kind: 'ollama', url: sim.url }], routes: { auto: { ...routes.auto, affinity: false } },
      plugins: [{ use: 'heuristic-classifier' }, ...fastProbes],
    })
    expect((await ask(gw.url, [system, first], { 'x-switchyard-class': 'COMPLEX' })).label).toBe('COMPLEX')
    const later = await ask(gw.url, [system, first, { role: 'assistant', content: 'x' }, { role: 'user', content: 'thanks!' }])
    expect(later.label).toBe('SIMPLE')
    expect(later.reason).not.toContain('affinity')
  })

  test('the backend that served a conversation goes first when it serves the selected model; otherwise the selection stands', () => {
    const selection = { model: 'm', backend: 'a', reasons: ['m@a: least busy'], fallbacks: [{ model: 'm', backend: 'b' }, { model: 'n', backend: 'c' }] }
    const prior = { label: 'COMPLEX', backend: 'b', model: 'm', turns: 1, seenMs: 0 } as const
    const preferred = preferBackend(selection, prior)
    expect(preferred.backend).toBe('b')
    expect(preferred.fallbacks).toEqual([{ model: 'm', backend: 'a' }, { model: 'n', backend: 'c' }])
    expect(preferred.reasons[0]).toContain('affinity')
    expect(preferBackend(selection, { ...prior, backend: 'c' })).toBe(selection)
    expect(preferBackend(selection, undefined)).toBe(selection)
  })
})
