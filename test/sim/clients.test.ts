/** The official `ollama` and `openai` npm clients work against the simulator, streamed and not. */
import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { startSimulator } from '../../src/sim/server.ts'

const MODEL = 'llama3.2:3b'
const messages = [{ role: 'user' as const, content: 'say hello' }]

describe('ollama client', () => {
  test('chats without streaming', async () => {
    await using sim = startSimulator({ instant: true })
    const ollama = new Ollama({ host: sim.url })
    const response = await ollama.chat({ model: MODEL, messages })
    expect(response.done).toBe(true)
    expect(response.done_reason).toBe('stop')
    expect(response.message.content).toContain(MODEL)
    expect(response.eval_count).toBe(24)
  })

  test('chats with streaming', async () => {
    await using sim = startSimulator({ instant: true })
    const ollama = new Ollama({ host: sim.url })
    let text = ''
    let last: { done: boolean; eval_count: number } | undefined
    for await (const part of await ollama.chat({ model: MODEL, messages, stream: true, options: { num_predict: 5 } })) {
      text += part.message.content
      last = part
    }
    expect(last).toMatchObject({ done: true, eval_count: 5 })
    expect(text.split(' ').length).toBe(5)
  })

  test('lists, embeds and reports unknown models as errors', async () => {
    await using sim = startSimulator({ instant: true })
    const ollama = new Ollama({ host: sim.url })
    expect((await ollama.list()).models.map((m) => m.name)).toContain(MODEL)
    const { embeddings } = await ollama.embed({ model: MODEL, input: ['a', 'b'] })
    expect(embeddings.length).toBe(2)
    expect((await ollama.ps()).models.map((m) => m.name)).toEqual([MODEL])
    await expect(ollama.chat({ model: 'nope', messages })).rejects.toThrow('not found')
  })
})

describe('openai client', () => {
  const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 })

  test('chats without streaming', async () => {
    await using sim = startSimulator({ instant: true })
    const completion = await client(sim.url).chat.completions.create({ model: MODEL, messages })
    expect(completion.choices[0]?.finish_reason).toBe('stop')
    expect(completion.choices[0]?.message.content).toContain(MODEL)
    expect(completion.usage?.completion_tokens).toBe(24)
  })

  test('chats with streaming and usage', async () => {
    await using sim = startSimulator({ instant: true })
    const stream = await client(sim.url).chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 6,
    })
    let text = ''
    let finish: string | null | undefined
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      finish ??= chunk.choices[0]?.finish_reason
      usage ??= chunk.usage
    }
    expect(text.split(' ').length).toBe(6)
    expect(finish).toBe('length')
    expect(usage?.completion_tokens).toBe(6)
  })

  test('embeds (base64 by default in the SDK) and lists models', async () => {
    await using sim = startSimulator({ instant: true })
    const openai = client(sim.url)
    const { data } = await openai.embeddings.create({ model: MODEL, input: 'hello world' })
    expect(data[0]?.embedding.length).toBe(64)
    const ids = []
    for await (const model of openai.models.list()) ids.push(model.id)
    expect(ids).toContain(MODEL)
  })

  test('surfaces a simulated 500 as an InternalServerError', async () => {
    await using sim = startSimulator({ instant: true })
    const error = await client(sim.url)
      .chat.completions.create({ model: MODEL, messages }, { headers: { 'x-sim-fault': 'status-500' } })
      .then(() => undefined, (thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
  })
})
