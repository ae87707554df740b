import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import memoryCache from '../../plugins/memory-cache/index.ts'
import type { CacheEntry, ChatRequest } from '../../src/plugin/types.ts'
import { createLogger } from '../../src/log.ts'
import { keepNothing } from 'switchyard/plugin'

const request: ChatRequest = { protocol: 'ollama', operation: 'chat', model: 'm', messages: [{ role: 'user', content: 'x' }], stream: false, temperature: 0, body: {} }

const entry = (text: string): CacheEntry => ({ status: 200, contentType: 'application/json', model: 'm', backend: 'b', chunks: [text], createdAt: Date.now() })

async function setup(options: Record<string, unknown>) {
  return await memoryCache.setup({
    name: 'memory-cache', options: v.parse(memoryCache.options, options), signal: new AbortController().signal,
    log: createLogger('test', () => {}), gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })
}

describe('memory-cache plugin', () => {
  test('evicts the least recently used entries once the body bytes exceed maxBytes', async () => {
    const cache = await setup({ maxBytes: 250 })
    const signal = new AbortController().signal
    await cache.set('a', entry('a'.repeat(100)), request)
    await cache.set('b', entry('b'.repeat(100)), request)
    expect(await cache.get('a', signal, request)).toBeDefined() // a is now the most recently used
    await cache.set('c', entry('c'.repeat(100)), request)
    expect(await cache.get('b', signal, request)).toBeUndefined()
    expect(await cache.get('a', signal, request)).toBeDefined()
    expect(await cache.get('c', signal, request)).toBeDefined()
  })

  test('counts bytes, not characters, and never keeps an entry larger than maxBytes', async () => {
    const cache = await setup({ maxBytes: 100 })
    const signal = new AbortController().signal
    await cache.set('small', entry('ok'), request)
    await cache.set('wide', entry('é'.repeat(60)), request) // 120 bytes in UTF-8
    expect(await cache.get('wide', signal, request)).toBeUndefined()
    expect(await cache.get('small', signal, request)).toBeDefined()
  })

  test('evicts by entry count with maxEntries', async () => {
    const cache = await setup({ maxEntries: 2 })
    const signal = new AbortController().signal
    for (const key of ['a', 'b', 'c']) await cache.set(key, entry(key), request)
    expect(await cache.get('a', signal, request)).toBeUndefined()
    expect((await cache.get('c', signal, request))?.chunks).toEqual(['c'])
  })

  test('says whether it serves non-deterministic requests', async () => {
    expect((await setup({})).cacheNondeterministic).toBe(false)
    expect((await setup({ cacheNondeterministic: true })).cacheNondeterministic).toBe(true)
  })
})
