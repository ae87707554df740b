/** Simulated embeddings: deterministic unit vectors where similar wording means similar vectors. */
import { describe, expect, test } from 'bun:test'
import { cosineSimilarity } from '../../src/sim/generate.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, type Json } from './wire.ts'

const MODEL = 'qwen2.5-coder:1.5b'

async function embed(url: string, input: string | string[]): Promise<number[][]> {
  const body = (await postJson(`${url}/api/embed`, { model: MODEL, input }).then((r) => r.json())) as Json
  return body.embeddings
}

describe('POST /api/embed', () => {
  test('returns one 64-dimensional unit vector per input, with stats', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/api/embed`, { model: MODEL, input: ['a b c', 'd e'] }).then((r) => r.json())) as Json
    expect(body).toMatchObject({ model: MODEL, prompt_eval_count: 4 + 3 })
    expect(body.total_duration).toBeGreaterThan(0)
    expect(body.load_duration).toBeGreaterThan(0)
    expect(body.embeddings.length).toBe(2)
    for (const vector of body.embeddings) {
      expect(vector.length).toBe(64)
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6)
    }
  })

  test('identical text gives identical vectors; similar wording is closer than unrelated text', async () => {
    await using sim = startSimulator({ instant: true })
    const [a, again, similar, unrelated] = await embed(sim.url, [
      'write a python function to sort a list',
      'write a python function to sort a list',
      'write a python function that sorts the list',
      'what is the capital city of france',
    ])
    expect(again).toEqual(a!)
    const near = cosineSimilarity(a!, similar!)
    const far = cosineSimilarity(a!, unrelated!)
    expect(near).toBeGreaterThan(0.5)
    expect(far).toBeLessThan(0.35)
    expect(near).toBeGreaterThan(far + 0.3)
  })

  test('a string input and dimensions are honoured', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/api/embed`, { model: MODEL, input: 'hello', dimensions: 16 }).then((r) => r.json())) as Json
    expect(body.embeddings.length).toBe(1)
    expect(body.embeddings[0].length).toBe(16)
  })
})

describe('other embedding routes', () => {
  test('legacy /api/embeddings returns one embedding equal to /api/embed', async () => {
    await using sim = startSimulator({ instant: true })
    const legacy = (await postJson(`${sim.url}/api/embeddings`, { model: MODEL, prompt: 'hello world' }).then((r) => r.json())) as Json
    expect(legacy.embedding).toEqual((await embed(sim.url, 'hello world'))[0]!)
  })

  test('/v1/embeddings returns the OpenAI list shape, as floats or base64', async () => {
    await using sim = startSimulator({ instant: true })
    const floats = (await postJson(`${sim.url}/v1/embeddings`, { model: MODEL, input: ['one', 'two'] }).then((r) => r.json())) as Json
    expect(floats).toMatchObject({ object: 'list', model: MODEL, usage: { prompt_tokens: 4, total_tokens: 4 } })
    expect(floats.data.map((d: Json) => [d.object, d.index])).toEqual([['embedding', 0], ['embedding', 1]])
    const encoded = (await postJson(`${sim.url}/v1/embeddings`, { model: MODEL, input: 'one', encoding_format: 'base64' }).then((r) => r.json())) as Json
    const bytes = Buffer.from(encoded.data[0].embedding, 'base64')
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4))
    decoded.forEach((x, i) => expect(x).toBeCloseTo(floats.data[0].embedding[i], 6))
  })

  test('unknown embedding models are 404 in each protocol shape', async () => {
    await using sim = startSimulator({ instant: true })
    const ollama = await postJson(`${sim.url}/api/embed`, { model: 'nope', input: 'x' })
    expect(ollama.status).toBe(404)
    expect(await ollama.json()).toEqual({ error: "model 'nope' not found" })
    const openai = await postJson(`${sim.url}/v1/embeddings`, { model: 'nope', input: 'x' })
    expect(openai.status).toBe(404)
    expect(((await openai.json()) as Json).error.type).toBe('not_found_error')
  })
})
