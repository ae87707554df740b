import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b', 'qwen2.5-coder:7b'] } }
const keys = [
  { name: 'alice', key: 'alice-key-123', models: ['auto', 'qwen2.5-coder:1.5b'] },
  { name: 'bob', key: 'bob-key-1234', models: ['qwen2.5-coder:1.5b'] },
  { name: 'carol', key: 'carol-key-123', models: ['auto'] },
  { name: 'dave', key: 'dave-key-1234', models: ['qwen2.5-coder:7b'] },
  { name: 'erin', key: 'erin-key-1234', models: ['llama3:70b'] },
  { name: 'frank', key: 'frank-key-123', models: ['deepseek-coder:33b'] },
]
const HARD = 'Design a distributed job scheduler: the architecture, the data model, failure handling, and the full implementation.'

async function policyGateway() {
  const sim = startSimulator({ instant: true })
  const gw = await startGateway({
    auth: { keys, adminKey: 'admin-key-123' }, backends: [{ name: 'sim', kind: 'ollama', url: sim.url }], routes,
    models: { 'deepseek-coder:33b': { fallbacks: ['qwen2.5-coder:7b'] } },
    plugins: [{ use: 'keyword-classifier' }, ...fastProbes],
  })
  return { gw, sim, async [Symbol.asyncDispose]() { await gw.close(); await sim.close() } }
}

const ask = (url: string, key: string, model: string, headers: Record<string, string> = {}, stream = false) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: HARD }] }) })

describe('model policies hold through routing', () => {
  test('a key allowed auto and one small model never gets another model, streamed or not, with either client', async () => {
    await using t = await policyGateway()
    const openai = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'alice-key-123', defaultHeaders: { 'x-switchyard-class': 'COMPLEX' } })
    const { data, response } = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: HARD }] }).withResponse()
    expect(data.model).toBe('qwen2.5-coder:1.5b')
    expect(response.headers.get('x-switchyard-reason')).toContain('policy: no COMPLEX model of route auto is allowed for alice; answered as SIMPLE')
    const stream = await openai.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: HARD }] })
    for await (const chunk of stream) expect(chunk.model).toBe('qwen2.5-coder:1.5b')
    const ollama = new Ollama({ host: t.gw.url, headers: { authorization: 'Bearer alice-key-123', 'x-switchyard-class': 'MODERATE' } })
    const answer = await ollama.chat({ model: 'auto', messages: [{ role: 'user', content: HARD }] })
    expect(answer.model).toBe('qwen2.5-coder:1.5b')
    for await (const part of await ollama.chat({ model: 'auto', stream: true, messages: [{ role: 'user', content: HARD }] })) expect(part.model).toBe('qwen2.5-coder:1.5b')
    const named = await ask(t.gw.url, 'alice-key-123', 'qwen2.5-coder:7b')
    expect(named.status).toBe(403)
    expect((await named.json()).error.message).toContain('may not use model "qwen2.5-coder:7b"')
  })

  test('a key allowed only concrete models may use auto among them; one allowed only the route may not name a model', async () => {
    await using t = await policyGateway()
    const bob = await ask(t.gw.url, 'bob-key-1234', 'auto', { 'x-switchyard-class': 'COMPLEX' })
    expect(bob.status).toBe(200)
    expect(bob.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:1.5b')
    const carol = await ask(t.gw.url, 'carol-key-123', 'auto', { 'x-switchyard-class': 'COMPLEX' })
    expect(carol.headers.get('x-switchyard-model')).toBe('deepseek-coder:33b')
    expect((await ask(t.gw.url, 'carol-key-123', 'qwen2.5-coder:7b')).status).toBe(403)
  })

  test('a class with no allowed model goes up first; nothing allowed is a 403 naming the route, class and models', async () => {
    await using t = await policyGateway()
    const dave = await ask(t.gw.url, 'dave-key-1234', 'auto', { 'x-switchyard-class': 'SIMPLE' })
    expect(dave.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:7b')
    expect(dave.headers.get('x-switchyard-reason')).toContain('answered as MODERATE')
    const erin = await ask(t.gw.url, 'erin-key-1234', 'auto', { 'x-switchyard-class': 'SIMPLE' })
    expect(erin.status).toBe(403)
    const message: string = (await erin.json()).error.message
    expect(message).toContain('route "auto"')
    expect(message).toContain('class SIMPLE')
    expect(message).toContain('allowed: llama3:70b')
  })

  test('fallbacks obey the list, and /router/explain with a client key shows that key\'s filtered decision', async () => {
    await using t = await policyGateway()
    const explain = async (key: string, model: string, headers: Record<string, string> = {}) =>
      (await fetch(`${t.gw.url}/router/explain`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body: JSON.stringify({ model, messages: [{ role: 'user', content: HARD }] }) })).json()
    expect((await explain('frank-key-123', 'deepseek-coder:33b')).candidates).toEqual(['deepseek-coder:33b'])
    expect((await explain('admin-key-123', 'deepseek-coder:33b')).candidates).toEqual(['deepseek-coder:33b', 'qwen2.5-coder:7b'])
    const filtered = await explain('bob-key-1234', 'auto')
    expect(filtered.candidates).toEqual(['qwen2.5-coder:1.5b'])
    const denied = await fetch(`${t.gw.url}/router/explain`, { method: 'POST', headers: { authorization: 'Bearer carol-key-123' }, body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'x' }] }) })
    expect(denied.status).toBe(403)
    expect((await fetch(`${t.gw.url}/router/explain`, { method: 'POST', body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x' }] }) })).status).toBe(401)
  })

  test('odd keys, headers and model names get 4xx answers, never a 5xx', async () => {
    await using t = await policyGateway()
    const names = ['constructor', '__proto__', 'toString', 'auto\u0000', 'qwen2.5-coder:1.5b\r\nx: y', '../../etc/passwd', '', ' auto', 'AUTO', 'a'.repeat(5_000), '\u202eotua', 'qwen2.5-coder:1.5b:latest']
    const tokens = ['alice-key-123', 'alice-key-123\u0000', 'x'.repeat(4_000), '', 'Bearer', 'alice-key-12']
    for (const model of names) {
      for (const token of tokens) {
        const res = await fetch(`${t.gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`.replace(/[^\x20-\x7e]/g, '') }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) })
        expect(res.status).toBeLessThan(500)
        await res.text()
      }
      const forced = await fetch(`${t.gw.url}/api/chat`, { method: 'POST', headers: { authorization: 'Bearer bob-key-1234', 'x-switchyard-class': model.replace(/[^\x20-\x7e]/g, '') || 'x' }, body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: 'hi' }] }) })
      expect(forced.status).toBeLessThan(500)
      await forced.text()
    }
  }, 20_000)
})
