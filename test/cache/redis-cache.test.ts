import { describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'
import { ollamaChat, openaiChat, post } from './http.ts'

/** Keys under the default prefix, read with a separate client. */
async function storedKeys(url: string): Promise<string[]> {
  const client = new RedisClient(url)
  try {
    return (await client.send('KEYS', ['switchyard:*'])) as string[]
  } finally {
    client.close()
  }
}

const redisCache = (url: string, options: Record<string, unknown> = {}) => ({ use: 'redis-cache', options: { url, reconnectMs: 100, ...options } })

describe('redis-cache against a real redis-server', () => {
  test('a second gateway gets a hit for what the first one stored', async () => {
    await using redis = await startRedis()
    await using sim = startSimulator({ instant: true })
    const config = { backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [redisCache(redis.url), ...fastProbes] }
    await using one = await startGateway(config)
    await using two = await startGateway(config)
    const first = await post(`${one.url}/api/chat`, ollamaChat('shared'))
    expect(first.cache).toBe('miss')
    // The store is not on the response path: wait until the entry is in Redis.
    await until(async () => (await storedKeys(redis.url)).length === 1, 3_000, 'the entry in redis')
    const second = await post(`${two.url}/api/chat`, ollamaChat('shared'))
    expect(second.cache).toBe('hit')
    expect(second.text).toBe(first.text)
  })

  test('streamed answers round-trip through Redis byte for byte', async () => {
    await using redis = await startRedis()
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'openai', url: sim.url }], plugins: [redisCache(redis.url), ...fastProbes] })
    const body = openaiChat('sse through redis', { stream: true })
    const first = await post(`${gw.url}/v1/chat/completions`, body)
    await until(async () => (await storedKeys(redis.url)).length === 1, 3_000, 'the entry in redis')
    const second = await post(`${gw.url}/v1/chat/completions`, body)
    expect(second.cache).toBe('hit')
    expect(second.text).toBe(first.text)
    expect(second.headers.get('content-type')).toContain('text/event-stream')
  })

  test('entries expire through Redis PX expiry', async () => {
    await using redis = await startRedis()
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [redisCache(redis.url, { ttlMs: 150 }), ...fastProbes] })
    const url = `${gw.url}/api/chat`
    expect((await post(url, ollamaChat('expiring'))).cache).toBe('miss')
    await until(async () => (await storedKeys(redis.url)).length === 1, 3_000, 'the entry in redis')
    expect((await post(url, ollamaChat('expiring'))).cache).toBe('hit')
    await until(async () => (await storedKeys(redis.url)).length === 0, 3_000, 'Redis to expire the entry')
    expect((await post(url, ollamaChat('expiring'))).cache).toBe('miss')
  })

  test('when Redis is killed, requests keep working with the cache bypassed, one warning is logged, and it reconnects', async () => {
    const redis = await startRedis()
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [redisCache(redis.url), ...fastProbes] })
    const url = `${gw.url}/api/chat`
    expect((await post(url, ollamaChat('before'))).cache).toBe('miss')
    await redis.kill()
    for (let i = 0; i < 10; i++) {
      const answer = await post(url, ollamaChat(`during ${i}`))
      expect(answer.status).toBe(200)
      expect(answer.cache).toBe('bypass')
    }
    const warnings = gw.logs.filter((line) => line.includes('warn') && line.includes('redis-cache'))
    expect(warnings.length).toBe(1)
    await using back = await startRedis({ port: redis.port })
    expect(back.port).toBe(redis.port)
    await until(async () => (await post(url, ollamaChat('after'))).cache === 'hit', 3_000, 'a hit after Redis came back')
    expect(gw.logs.some((line) => line.includes('cache recovered'))).toBe(true)
  })

  test('a hung Redis costs a lookup at most timeoutMs, and requests are still answered', async () => {
    await using redis = await startRedis()
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [redisCache(redis.url, { timeoutMs: 100, reconnectMs: 60_000 }), ...fastProbes],
    })
    const url = `${gw.url}/api/chat`
    expect((await post(url, ollamaChat('warm'))).cache).toBe('miss')
    redis.pause()
    try {
      const hung = await post(url, ollamaChat('while hung'))
      expect(hung.status).toBe(200)
      expect(hung.cache).toBe('bypass')
      // Within the back-off Redis is not asked again: later requests bypass it at once.
      const next = await post(url, ollamaChat('while hung'))
      expect(next.status).toBe(200)
      expect(next.cache).toBe('bypass')
    } finally {
      redis.resume()
    }
  })
})
