/** semantic-cache with `redis`: gateway instances answer from each other's entries, and carry on alone while Redis is away. */
import { describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'
import { ollamaChat, post } from './http.ts'

const EMBED_MODEL = 'nomic-embed-text'
/** The simulator's embeddings are lexical: paraphrases score lower than with a real model (see semantic-cache.test.ts). */
const THRESHOLD = 0.9
const MODELS = ['qwen2.5-coder:1.5b', EMBED_MODEL, 'all-minilm']

const configFor = (simUrl: string, redisUrl: string, options: Record<string, unknown> = {}) => ({
  backends: [{ name: 'gpu0', kind: 'ollama', url: simUrl }],
  plugins: [
    { use: 'semantic-cache', options: { backend: 'gpu0', model: EMBED_MODEL, threshold: THRESHOLD, redis: { url: redisUrl, reconnectMs: 100 }, ...options } },
    ...fastProbes,
  ],
})

async function redisCommand<T>(url: string, command: string, args: string[]): Promise<T> {
  const client = new RedisClient(url)
  try {
    return (await client.send(command, args)) as T
  } finally {
    client.close()
  }
}

/** Entry keys in Redis under the default prefix. */
const storedEntries = (url: string) => redisCommand<string[]>(url, 'KEYS', ['switchyard:semantic:*:e:*'])

async function modeOf(gatewayUrl: string): Promise<string | undefined> {
  const health = (await fetch(`${gatewayUrl}/health`).then((r) => r.json())) as { state?: { component: string; mode: string }[] }
  return health.state?.find((s) => s.component === 'semantic-cache')?.mode
}

/**
 * The store runs after the answer is sent: wait until asking the same prompt again is answered from it (a miss in
 * between stores under the same key again, so nothing else is remembered).
 */
const tookLocally = (gatewayUrl: string, prompt: string) =>
  until(async () => (await post(`${gatewayUrl}/api/chat`, ollamaChat(prompt))).cache === 'semantic-hit', 3_000, 'the entry taken locally')

describe('semantic-cache shared through Redis', () => {
  test('a paraphrase answered through one instance is a semantic hit through another, and through one started later', async () => {
    await using redis = await startRedis()
    await using sim = startSimulator({ instant: true, models: MODELS })
    await using a = await startGateway(configFor(sim.url, redis.url))
    await using b = await startGateway(configFor(sim.url, redis.url))
    expect(await modeOf(a.url)).toBe('shared')

    const first = await post(`${a.url}/api/chat`, ollamaChat('How do I enable dark mode in VS Code?'))
    expect(first.cache).toBe('miss')
    await until(async () => (await storedEntries(redis.url)).length === 1, 3_000, 'the entry in redis')
    const [entryKey] = await storedEntries(redis.url)
    expect(entryKey).toStartWith(`switchyard:semantic:${EMBED_MODEL}:`)
    expect(await redisCommand<number>(redis.url, 'PTTL', [entryKey!])).toBeGreaterThan(0)

    const throughB = await post(`${b.url}/api/chat`, ollamaChat('How can I enable dark mode in VS Code?'))
    expect(throughB.cache).toBe('semantic-hit')
    expect(throughB.text).toBe(first.text)

    await using c = await startGateway(configFor(sim.url, redis.url))
    const throughC = await post(`${c.url}/api/chat`, ollamaChat('How can I enable dark mode in VS Code?'))
    expect(throughC.cache).toBe('semantic-hit')
    expect(throughC.text).toBe(first.text)
    expect(sim.stats().byModel['qwen2.5-coder:1.5b']).toBe(1)

    // Another embedding model is another vector space: its instances never see these entries.
    await using other = await startGateway(configFor(sim.url, redis.url, { model: 'all-minilm' }))
    expect((await post(`${other.url}/api/chat`, ollamaChat('How can I enable dark mode in VS Code?'))).cache).toBe('miss')
  }, 10_000)

  test('while Redis is away both instances answer from their own entries and say local; when it is back entries flow again', async () => {
    const redis = await startRedis()
    await using sim = startSimulator({ instant: true, models: MODELS })
    await using a = await startGateway(configFor(sim.url, redis.url))
    await using b = await startGateway(configFor(sim.url, redis.url))
    expect((await post(`${a.url}/api/chat`, ollamaChat('What is the capital of France?'))).cache).toBe('miss')
    await until(async () => (await storedEntries(redis.url)).length === 1, 3_000, 'the entry in redis')

    await redis.kill()
    await until(async () => (await modeOf(a.url)) === 'local' && (await modeOf(b.url)) === 'local', 3_000, 'both local')
    // Entries already mirrored keep answering; new ones are remembered by the instance that took them.
    expect((await post(`${b.url}/api/chat`, ollamaChat('What is the capital of France'))).cache).toBe('semantic-hit')
    const during = await post(`${a.url}/api/chat`, ollamaChat('How do I read a file line by line in Go?'))
    expect(during.status).toBe(200)
    expect(during.cache).toBe('miss')
    await tookLocally(a.url, 'How do I read a file line by line in Go?')
    expect((await post(`${a.url}/api/chat`, ollamaChat('How do I read a file line by line in Go'))).cache).toBe('semantic-hit')
    await until(() => a.logs.some((l) => l.includes('shared state unavailable') && l.includes('semantic-cache')), 3_000, 'a warning while local')

    await using back = await startRedis({ port: redis.port })
    expect(back.port).toBe(redis.port)
    await until(async () => (await modeOf(a.url)) === 'shared' && (await modeOf(b.url)) === 'shared', 5_000, 'both shared again')
    // What A took while Redis was away is written once it is back, and reaches B.
    await until(async () => (await storedEntries(back.url)).length === 1, 3_000, 'the entry taken while away in redis')
    expect((await post(`${b.url}/api/chat`, ollamaChat('How do I read a file line by line in Go'))).cache).toBe('semantic-hit')

    const after = await post(`${b.url}/api/chat`, ollamaChat('Sort a dictionary by value'))
    expect(after.cache).toBe('miss')
    await until(async () => (await storedEntries(back.url)).length === 2, 3_000, 'the new entry in redis')
    const throughA = await post(`${a.url}/api/chat`, ollamaChat('sort a dictionary by its value'))
    expect(throughA.cache).toBe('semantic-hit')
    expect(throughA.text).toBe(after.text)
  }, 15_000)

  test('a hung Redis neither holds up answers nor loses what was taken meanwhile', async () => {
    await using redis = await startRedis()
    await using sim = startSimulator({ instant: true, models: MODELS })
    await using a = await startGateway(configFor(sim.url, redis.url))
    await using b = await startGateway(configFor(sim.url, redis.url))
    redis.pause()
    try {
      const during = await post(`${a.url}/api/chat`, ollamaChat('Explain what a list comprehension is'))
      expect(during.status).toBe(200)
      await tookLocally(a.url, 'Explain what a list comprehension is')
      expect((await post(`${a.url}/api/chat`, ollamaChat('Explain what a list comprehension is, please'))).cache).toBe('semantic-hit')
      await until(async () => (await modeOf(a.url)) === 'local', 3_000, 'local while Redis hangs')
    } finally {
      redis.resume()
    }
    await until(async () => (await modeOf(a.url)) === 'shared', 3_000, 'shared again')
    await until(async () => (await storedEntries(redis.url)).length === 1, 3_000, 'the entry written after the hang')
    expect((await post(`${b.url}/api/chat`, ollamaChat('Explain what a list comprehension is, please'))).cache).toBe('semantic-hit')
  }, 10_000)
})
