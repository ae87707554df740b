import { describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }

describe('plugins from config', () => {
  test('a custom classifier file named in config decides auto routing', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway(
      {
        backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
        routes,
        plugins: [{ use: './plugins/examples/length-classifier.ts', options: { simpleBelow: 10, complexAbove: 40 } }, ...fastProbes],
      },
      resolve(import.meta.dir, '../..'),
    )
    const ask = async (content: string) => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }] }) })
      await res.text()
      return [res.headers.get('x-switchyard-class'), res.headers.get('x-switchyard-model'), res.headers.get('x-switchyard-reason')]
    }
    expect(await ask('hi')).toEqual(['SIMPLE', 'qwen2.5-coder:1.5b', expect.stringContaining('prompt is 2 characters')])
    expect((await ask('twenty characters!!!'))[0]).toBe('MODERATE')
    expect((await ask('x'.repeat(100)))[1]).toBe('deepseek-coder:33b')
    expect(gw.gateway.deps.plugins.all.map((p) => p.name)).toContain('length-classifier')
    expect(gw.gateway.deps.plugins.of('classifier').map((p) => p.name)).toEqual(['length-classifier'])
  })

  test('/router/explain shows the decision without calling a model', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes, plugins: [{ use: 'keyword-classifier' }, ...fastProbes] })
    const res = await fetch(`${gw.url}/router/explain`, {
      method: 'POST', body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'add a docstring to the helper below' }] }),
    })
    const body = await res.json()
    expect(body).toMatchObject({ model: 'qwen2.5-coder:1.5b', class: 'SIMPLE', backend: 'gpu0', candidates: ['qwen2.5-coder:1.5b'] })
    expect(body.confidence).toBeGreaterThan(0)
    expect(body.reasons.join(' ')).toContain('docstring')
    expect(sim.stats().requests).toBe(0)
  })

  test('a route bias is a cost dial: a negative COMPLEX bias sends the same prompt to a smaller tier', async () => {
    await using sim = startSimulator({ instant: true })
    const prompt = { model: 'auto', messages: [{ role: 'user', content: 'refactor the architecture of this service' }] }
    await using plain = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes, plugins: [{ use: 'keyword-classifier' }, ...fastProbes] })
    const before = await (await fetch(`${plain.url}/router/explain`, { method: 'POST', body: JSON.stringify(prompt) })).json()
    expect(before.class).toBe('COMPLEX')
    await using biased = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      routes: { auto: { ...routes.auto, bias: { COMPLEX: -3 } } },
      plugins: [{ use: 'keyword-classifier' }, ...fastProbes],
    })
    const after = await (await fetch(`${biased.url}/router/explain`, { method: 'POST', body: JSON.stringify(prompt) })).json()
    expect(after.class).not.toBe('COMPLEX')
    expect(after.model).not.toBe('deepseek-coder:33b')
    expect(after.reasons).toContain(`route bias moved COMPLEX to ${after.class}`)
  })

  test('a classifier that throws falls back to the route default class and says so', async () => {
    await using sim = startSimulator({ instant: true })
    const dir = `${import.meta.dir}/../../test-output`
    await Bun.write(`${dir}/throwing-classifier.ts`, `
      import * as v from 'valibot'
      import { definePlugin } from 'switchyard/plugin'
      export default definePlugin({ name: 'throwing-classifier', kind: 'classifier', options: v.strictObject({}),
        setup: () => ({ classify() { throw new Error('boom') } }) })
    `)
    await using gw = await startGateway(
      { backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes: { auto: { ...routes.auto, default: 'COMPLEX' } }, plugins: [{ use: './throwing-classifier.ts' }, ...fastProbes] },
      dir,
    )
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: 'hi' }] }) })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-class')).toBe('COMPLEX')
    expect(res.headers.get('x-switchyard-reason')).toContain('throwing-classifier failed (boom)')
    await res.text()
  })

  test('a middleware plugin runs ahead of every endpoint, generation routes and streams included', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway(
      { backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [{ use: './plugins/examples/team-header.ts', options: { required: true } }, ...fastProbes] },
      resolve(import.meta.dir, '../..'),
    )
    const chat = (path: string, headers: Record<string, string> = {}, stream = false) =>
      fetch(`${gw.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', stream, messages: [{ role: 'user', content: 'hi' }] }) })
    const openai = await chat('/v1/chat/completions')
    expect(openai.status).toBe(400)
    expect((await openai.json()).error.code).toBe('missing_team')
    const ollama = await chat('/api/chat')
    expect(ollama.status).toBe(400)
    expect((await ollama.json()).error).toContain('x-team')
    expect(sim.stats().requests).toBe(0)

    const tagged = await chat('/v1/chat/completions', { 'x-team': 'infra' })
    expect(tagged.status).toBe(200)
    expect(tagged.headers.get('x-team')).toBe('infra')
    expect(tagged.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:1.5b')
    expect((await tagged.json()).choices[0].message.content.length).toBeGreaterThan(0)
    const streamed = await chat('/api/chat', { 'x-team': 'infra' }, true)
    expect(streamed.headers.get('x-team')).toBe('infra')
    expect(JSON.parse((await streamed.text()).trim().split('\n').at(-1)!).done).toBe(true)
    const tags = await fetch(`${gw.url}/api/tags`, { headers: { 'x-team': 'infra' } })
    expect(tags.headers.get('x-team')).toBe('infra')
    expect((await tags.json()).models.length).toBeGreaterThan(0)
    await until(() => gw.gateway.deps.health.views()[0]?.inFlight === 0, 2_000, 'the streamed request to end')
  })
})

describe('named models are never replaced', () => {
  test('a named model on a dead backend is a 503, not another model', async () => {
    const sim = startSimulator({ instant: true })
    await using other = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({
      backends: [{ name: 'big', kind: 'ollama', url: sim.url }, { name: 'small', kind: 'ollama', url: other.url }],
      plugins: fastProbes,
    })
    await sim.close()
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'deepseek-coder:33b', stream: false, messages: [{ role: 'user', content: 'x' }] }) })
    expect([502, 503]).toContain(res.status)
    const body = await res.json()
    expect(body.error).toContain('big')
    expect(other.stats().requests).toBe(0)
  })

  test('a named model answers from another backend serving the same model when one is down', async () => {
    const dead = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using alive = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'dead', kind: 'ollama', url: dead.url }, { name: 'alive', kind: 'ollama', url: alive.url }],
      plugins: fastProbes,
    })
    await dead.close()
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'x' }] }) })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:7b')
      expect(res.headers.get('x-switchyard-backend')).toBe('alive')
      await res.text()
    }
  })

  test('another model answers only when models.<name>.fallbacks allows it, and the header says so', async () => {
    const dead = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
    await using alive = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'dead', kind: 'ollama', url: dead.url }, { name: 'alive', kind: 'ollama', url: alive.url }],
      models: { 'deepseek-coder:33b': { backends: ['dead'], fallbacks: ['qwen2.5-coder:7b'] } },
      plugins: fastProbes,
    })
    await dead.close()
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'deepseek-coder:33b', stream: false, messages: [{ role: 'user', content: 'x' }] }) })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:7b')
    expect(res.headers.get('x-switchyard-reason')).toContain('fallback')
    await res.text()
  })
})
