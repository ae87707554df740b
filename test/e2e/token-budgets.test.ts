/** tokensPerMinute holds whatever the path: streamed or not, one at a time or twenty at once, one gateway or two over Redis. */
import { describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { parseConfig } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway, type TestGateway } from '../support/gateway.ts'
import { startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'

/** The keyword classifier, not whatever the default is: these tests are about tokens, not classification. */
const probes = [...fastProbes, { use: 'keyword-classifier' }]

const MODEL = 'qwen2.5-coder:7b'
/** Four words: 6 prompt tokens for the simulator (and 6 by the gateway's 4-characters estimate); 24 output tokens. */
const PROMPT = 'count the tokens please'
const messages = [{ role: 'user' as const, content: PROMPT }]

const openai = (gw: TestGateway, key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 })
const ollama = (gw: TestGateway, key: string) => new Ollama({ host: gw.url, headers: { authorization: `Bearer ${key}` } })

/** The HTTP status a client call ended with (the official clients throw on 4xx). */
async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call()
    return 200
  } catch (error) {
    const status = (error as { status?: number; status_code?: number }).status ?? (error as { status_code?: number }).status_code
    if (typeof status !== 'number') throw error
    return status
  }
}

/** Reads a stream to its end through the client's own iterator. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // Each chunk is read, as a client would.
  }
}

const key = (name: string, tokensPerMinute: number, extra: Record<string, unknown> = {}) => ({ name, key: `${name}-secret-key`, tokensPerMinute, ...extra })
const bearer = (name: string) => `${name}-secret-key`

describe('token budgets', () => {
  test('eight streamed requests in a row are refused from the third on, exactly like non-streamed ones (the reported bypass)', async () => {
    await using sim = startSimulator({ instant: true, models: [MODEL] })
    const modes = ['openai-stream', 'openai', 'ollama-stream', 'ollama'] as const
    await using gw = await startGateway({
      auth: { keys: modes.map((m) => key(m, 50)) },
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      plugins: probes,
    })
    const ask: Record<(typeof modes)[number], () => Promise<unknown>> = {
      // No stream_options: the answer reaches the gateway without usage unless the gateway asks for it.
      'openai-stream': async () => drain(await openai(gw, bearer('openai-stream')).chat.completions.create({ model: MODEL, messages, stream: true })),
      openai: () => openai(gw, bearer('openai')).chat.completions.create({ model: MODEL, messages }),
      'ollama-stream': async () => drain(await ollama(gw, bearer('ollama-stream')).chat({ model: MODEL, messages, stream: true })),
      ollama: () => ollama(gw, bearer('ollama')).chat({ model: MODEL, messages, stream: false }),
    }
    for (const mode of modes) {
      const statuses: number[] = []
      for (let i = 0; i < 8; i++) statuses.push(await statusOf(ask[mode]))
      // 50 -> 20 -> -10: admitted while the budget is above zero, then refused.
      expect({ mode, statuses }).toEqual({ mode, statuses: [200, 200, 429, 429, 429, 429, 429, 429] })
    }
    expect(sim.stats().requests).toBe(2 * modes.length)
    const refused = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${bearer('openai-stream')}` }, body: JSON.stringify({ model: MODEL, messages, stream: true }),
    })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    const body = (await refused.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('rate_limited')
    expect(body.error.message).toContain('tokensPerMinute limit (50)')
  })

  test('twenty concurrent streams overshoot the budget by at most one request\'s reservation', async () => {
    // Paced, with a cold start: every admission happens while the admitted streams are still running.
    await using sim = startSimulator({ models: ['qwen2.5-coder:1.5b'] })
    const budget = 200
    await using gw = await startGateway({ auth: { keys: [key('crowd', budget)] }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: probes })
    const client = openai(gw, bearer('crowd'))
    const startedMs = Date.now()
    const results = await Promise.all(Array.from({ length: 20 }, async () => {
      try {
        const stream = await client.chat.completions.create({ model: 'qwen2.5-coder:1.5b', messages, stream: true, stream_options: { include_usage: true }, max_tokens: 10 })
        let used = 0
        for await (const chunk of stream) if (chunk.usage) used = chunk.usage.total_tokens
        return used
      } catch (error) {
        if (error instanceof OpenAI.RateLimitError) return 'refused'
        throw error
      }
    }))
    const used = results.filter((r) => r !== 'refused').reduce((a, b) => a + b, 0)
    // Each reserves its prompt (6, estimated) plus max_tokens (10) and uses exactly that.
    const reservation = 6 + 10
    const refill = (budget * (Date.now() - startedMs)) / 60_000
    expect(results).toContain('refused')
    expect(used).toBeGreaterThanOrEqual(budget - reservation)
    expect(used).toBeLessThanOrEqual(budget + reservation + refill)
  })

  test('two gateways sharing Redis hold one budget under concurrent streams', async () => {
    await using sim = startSimulator({ models: ['qwen2.5-coder:1.5b'] })
    await using redis = await startRedis()
    const budget = 200
    const auth = { keys: [key('shared', budget)], redis: { url: redis.url } }
    await using one = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: probes })
    await using two = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: probes })
    const startedMs = Date.now()
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const res = await fetch(`${(i % 2 ? one : two).url}/api/chat`, {
        method: 'POST', headers: { authorization: `Bearer ${bearer('shared')}` },
        body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', messages, options: { num_predict: 10 } }),
      })
      if (res.status === 429) return 'refused'
      const done = JSON.parse((await res.text()).trim().split('\n').at(-1)!) as { prompt_eval_count: number; eval_count: number }
      return done.prompt_eval_count + done.eval_count
    }))
    const used = results.filter((r) => r !== 'refused').reduce((a, b) => a + b, 0)
    const refill = (budget * (Date.now() - startedMs)) / 60_000
    expect(results).toContain('refused')
    expect(used).toBeLessThanOrEqual(budget + 16 + refill)
    expect(one.logs.join('') + two.logs.join('')).not.toContain('Redis unavailable')
  })

  test('a request whose max_tokens is more than the whole budget is refused at once, saying why', async () => {
    await using sim = startSimulator({ instant: true, models: [MODEL] })
    await using gw = await startGateway({ auth: { keys: [key('small', 100)] }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: probes })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${bearer('small')}` }, body: JSON.stringify({ model: MODEL, messages, stream: true, max_completion_tokens: 500 }),
    })
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('small: max_completion_tokens 500 is more than its whole tokensPerMinute budget (100); ask for at most 100')
    const viaClient = await openai(gw, bearer('small')).chat.completions.create({ model: MODEL, messages, max_tokens: 101 }).catch((e: unknown) => e)
    expect(viaClient).toBeInstanceOf(OpenAI.RateLimitError)
    expect((viaClient as Error).message).toContain('max_tokens 101 is more than its whole tokensPerMinute budget (100)')
    const native = await ollama(gw, bearer('small')).chat({ model: MODEL, messages, stream: false, options: { num_predict: 1000 } }).catch((e: unknown) => e)
    expect((native as Error).message).toContain('options.num_predict 1000 is more than its whole tokensPerMinute budget (100)')
    // Refused before any tokens were reserved: a request that fits is still admitted, and the backend saw only it.
    expect(await statusOf(() => openai(gw, bearer('small')).chat.completions.create({ model: MODEL, messages, max_tokens: 100 }))).toBe(200)
    expect(sim.stats().requests).toBe(1)
  })

  test('a reservation is settled to the real count: requests that reserve 96 and use 30 go on until the real count runs out', async () => {
    await using sim = startSimulator({ instant: true, models: [MODEL] })
    await using gw = await startGateway({ auth: { keys: [key('settled', 100)] }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: probes })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      statuses.push(await statusOf(async () => drain(await openai(gw, bearer('settled')).chat.completions.create({ model: MODEL, messages, stream: true, max_tokens: 90 }))))
    }
    // 100 -> 70 -> 40 -> 10 -> -20. Kept at its reservation each would have been refused from the third on.
    expect(statuses).toEqual([200, 200, 200, 200, 429])
  })

  test('cache hits spend no tokens from the budget', async () => {
    await using sim = startSimulator({ instant: true, models: [MODEL] })
    await using gw = await startGateway({ auth: { keys: [key('cached', 50)] }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...probes, { use: 'memory-cache' }] })
    const ask = (content: string) => fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${bearer('cached')}` }, body: JSON.stringify({ model: MODEL, temperature: 0, messages: [{ role: 'user', content }] }),
    })
    expect((await ask(PROMPT)).status).toBe(200)
    for (let i = 0; i < 5; i++) {
      const hit = await ask(PROMPT)
      expect({ status: hit.status, cache: hit.headers.get('x-switchyard-cache') }).toEqual({ status: 200, cache: 'hit' })
    }
    // 50 -> 20 after the first answer; the hits left it there.
    expect((await ask('count these tokens now')).status).toBe(200)
    expect((await ask('and count these ones')).status).toBe(429)
    expect(sim.stats().requests).toBe(2)
  })
})

describe('token budgets in Redis', () => {
  /** The key's token bucket as the admission script keeps it (`switchyard:ratelimit:<digest>:tokens`): level and when. */
  const bucket = async (redis: RedisClient, name: string) => {
    const id = new Bun.CryptoHasher('sha256').update(bearer(name)).digest('hex').slice(0, 16)
    const [tokens, at] = (await redis.hmget(`switchyard:ratelimit:${id}:tokens`, ['tokens', 'at'])) as [string, string]
    return { tokens: Number(tokens), at: Number(at) }
  }

  test('a stream holds its reservation while it runs; a cut one settles to what was relayed', async () => {
    await using sim = startSimulator({ models: [MODEL], outputTokens: 400 })
    await using redis = await startRedis()
    const budget = 600
    await using gw = await startGateway({
      auth: { keys: [key('watched', budget, { reserveTokens: 40 })], redis: { url: redis.url } },
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      plugins: [...probes, { use: 'dashboard' }],
    })
    const client = new RedisClient(redis.url)
    await using _closeClient = { [Symbol.asyncDispose]: async () => client.close() }
    /** The level at `t` of a bucket that was at `from`: refilled at `budget` per minute, up to `budget`. */
    const refilled = (from: { tokens: number; at: number }, t: number) => Math.min(budget, from.tokens + ((t - from.at) / 60_000) * budget)
    // Warm the model (6 + 1 tokens): the measured stream starts at once.
    await (await fetch(`${gw.url}/api/generate`, { method: 'POST', headers: { authorization: `Bearer ${bearer('watched')}` }, body: JSON.stringify({ model: MODEL, prompt: PROMPT, stream: false, options: { num_predict: 1 } }) })).text()
    const before = await bucket(client, 'watched')
    expect(before.tokens).toBe(budget - 7)

    const controller = new AbortController()
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST', signal: controller.signal, headers: { authorization: `Bearer ${bearer('watched')}` }, body: JSON.stringify({ model: MODEL, messages }),
    })
    const reader = res.body!.getReader()
    await reader.read()
    // No num_predict: the key's reserveTokens (40) plus the prompt's 6, taken at admission.
    const held = await bucket(client, 'watched')
    expect(held.tokens).toBeCloseTo(refilled(before, held.at) - 46, 6)
    for (let i = 0; i < 3; i++) await reader.read()
    controller.abort()
    let decision: { inputTokens: number; outputTokens: number } | undefined
    await until(async () => {
      const state = (await (await fetch(`${gw.url}/dashboard/state`)).json()) as { decisions: { status: number; inputTokens: number; outputTokens: number }[] }
      decision = state.decisions.find((d) => d.status === 499)
      return decision !== undefined
    }, 3_000, 'the cut stream on the dashboard')
    expect(decision!.outputTokens).toBeGreaterThanOrEqual(3)
    expect(decision!.outputTokens).toBeLessThan(50)
    const charged = decision!.inputTokens + decision!.outputTokens
    await until(async () => (await bucket(client, 'watched')).at > held.at, 3_000, 'the settlement')
    const settled = await bucket(client, 'watched')
    // The 46 held come back; what was relayed (and the prompt) is spent.
    expect(settled.tokens).toBeCloseTo(Math.min(budget, refilled(held, settled.at) + 46 - charged), 6)
  })

  test('while Redis is away each gateway limits tokens on its own, warning once', async () => {
    await using sim = startSimulator({ instant: true, models: [MODEL] })
    await using redis = await startRedis()
    await using gw = await startGateway({ auth: { keys: [key('outage', 50)], redis: { url: redis.url, timeoutMs: 200 } }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: probes })
    await redis.kill()
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push(await statusOf(async () => drain(await openai(gw, bearer('outage')).chat.completions.create({ model: MODEL, messages, stream: true }))))
    expect(statuses).toEqual([200, 200, 429, 429])
    expect(gw.logs.filter((l) => l.includes('Redis unavailable for rate limits'))).toHaveLength(1)
  })
})

describe('token budget config', () => {
  const base = { backends: [{ name: 'gpu0', kind: 'ollama', url: 'http://127.0.0.1:11434' }] }
  const issuesOf = (auth: Record<string, unknown>): string[] => {
    try {
      parseConfig({ ...base, auth })
    } catch (error) {
      if (error instanceof ConfigError) return [...error.issues]
      throw error
    }
    return []
  }

  test('a budget of 0 is a config error that says why', () => {
    expect(issuesOf({ keys: [key('zero', 0)] }).join('\n')).toContain('auth.keys[0].tokensPerMinute: tokensPerMinute must be at least 1: a budget of 0 would refuse every request')
  })

  test('reserveTokens needs a budget and must fit in it', () => {
    expect(issuesOf({ keys: [{ key: 'reserve-secret-key', reserveTokens: 10 }] }).join('\n')).toContain('reserveTokens needs tokensPerMinute')
    expect(issuesOf({ keys: [key('reserve', 100, { reserveTokens: 101 })] }).join('\n')).toContain('reserveTokens must not be more than tokensPerMinute')
    expect(issuesOf({ keys: [key('reserve', 100, { reserveTokens: 100 })] })).toEqual([])
  })
})
