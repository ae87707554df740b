/** semantic-cache: answers for prompts that mean the same, by embedding similarity per model, guarded against near misses. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { ChatRequest } from 'switchyard/plugin'
import { backendTarget, embedTexts } from 'switchyard/plugin'
import { createFactExtractor } from './guard.ts'
import { createLocalIndex } from './local-index.ts'
import { startSharedIndex } from './shared-index.ts'

/** Body fields that are the prompt itself (embedded) or that do not change the answer. */
const PROMPT_FIELDS = new Set(['messages', 'prompt', 'model', 'stream', 'keep_alive', 'user', 'metadata', 'store'])

/**
 * Everything but the last message's text must match exactly: protocol, operation, framing, the requested
 * model, the earlier turns and every output-changing parameter. Only the last message is compared by meaning.
 */
function scopeOf(req: ChatRequest): string {
  const params = Object.entries(req.body).filter(([k]) => !PROMPT_FIELDS.has(k)).sort(([a], [b]) => (a < b ? -1 : 1))
  const earlier = req.messages.slice(0, -1)
  const last = req.messages.at(-1)
  return JSON.stringify([req.protocol, req.operation, req.stream, req.model, earlier, last?.role, last?.images ?? 0, params])
}

/** Entries shared with other gateway instances through Redis; lookups stay in this process. */
const SharedOptions = v.strictObject({
  url: v.pipe(v.string(), v.regex(/^(redis|rediss|valkey|valkeys):\/\//, 'expected a redis:// URL')),
  /** Keys and the channel start with this, then the embedding model and a hash of the embedding backend. */
  prefix: v.optional(v.string(), 'switchyard:semantic:'),
  /** Per Redis command and connection attempt: a store never waits longer. */
  timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 250),
  /** After a failure, Redis is left alone this long before the next attempt. */
  reconnectMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000),
})

export default definePlugin({
  name: 'semantic-cache',
  kind: 'cache',
  options: v.strictObject({
    /** A backend name from the gateway config that serves the embedding model. */
    backend: v.pipe(v.string(), v.minLength(1)),
    model: v.optional(v.pipe(v.string(), v.minLength(1)), 'nomic-embed-text'),
    threshold: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.95),
    maxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000),
    ttlMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 3_600_000),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000),
    /** Characters of the prompt that are embedded (embedding models have small windows); longer prompts are not cached. */
    maxChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 4_000),
    cacheNondeterministic: v.optional(v.boolean(), false),
    redis: v.optional(SharedOptions),
  }),
  setup: async ({ name, options, gateway, signal: pluginSignal, keep, log }) => {
    const target = backendTarget(name, options.backend, gateway)
    const extractor = createFactExtractor()
    // Remembered prompts carry on across config reloads while the embedding model and its server stay the same.
    const { index, recent } = keep(`store ${target.url} ${options.model}`, () => ({
      /** Scope -> remembered prompts, LRU-bounded by `maxEntries` across scopes; with `redis`, a mirror of the shared set. */
      index: createLocalIndex(),
      /** Vectors from lookups, so storing the answer does not embed the same prompt again. */
      recent: new Map<string, Float32Array>(),
    }))
    index.trim(options.maxEntries)

    // Vectors from another embedding model or server are meaningless here: they live under their own keys.
    const embedding = new Bun.CryptoHasher('sha256').update(JSON.stringify([target.kind, target.url, options.model])).digest('hex').slice(0, 12)
    const shared = options.redis
      ? await startSharedIndex(
          { ...options.redis, namespace: `${options.redis.prefix}${options.model}:${embedding}:`, maxEntries: options.maxEntries },
          index, log,
        )
      : undefined

    const promptOf = (req: ChatRequest): string | undefined => {
      if (req.operation === 'embed') return undefined
      const text = req.messages.at(-1)?.content ?? ''
      return text.trim() === '' || text.length > options.maxChars ? undefined : text
    }

    const embed = async (key: string, text: string, signal: AbortSignal) => {
      const known = recent.get(key)
      if (known) return known
      const [vector] = await embedTexts(target, options.model, [text], AbortSignal.any([signal, pluginSignal, AbortSignal.timeout(options.timeoutMs)]))
      if (!vector) throw new Error('embedding backend returned no vector')
      recent.set(key, vector)
      if (recent.size > 256) recent.delete(recent.keys().next().value as string)
      return vector
    }

    return {
      cacheNondeterministic: options.cacheNondeterministic,
      stateBackend: shared?.stateBackend,
      async get(key, signal, request) {
        const text = promptOf(request)
        if (text === undefined) return undefined
        const scope = scopeOf(request)
        if (!index.hasScope(scope)) return undefined
        const vector = await embed(key, text, signal)
        const best = index.find(scope, vector, extractor.facts(text), options.threshold)
        return best && { ...best.item.entry, similarity: best.similarity }
      },
      async set(key, entry, request) {
        const text = promptOf(request)
        if (text === undefined || entry.status !== 200) return
        const vector = await embed(key, text, pluginSignal)
        const scope = scopeOf(request)
        const { similarity: _, ...stored } = entry
        const item = { vector, facts: extractor.facts(text), entry: stored, expiresAt: Date.now() + options.ttlMs }
        index.add(key, scope, item, options.maxEntries)
        await shared?.write(key, scope, item)
      },
      async close() {
        await shared?.close()
      },
    }
  },
})
