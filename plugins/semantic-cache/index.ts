/** semantic-cache: answers for prompts that mean the same, by embedding similarity per model, guarded against near misses. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { CacheEntry, ChatRequest } from 'switchyard/plugin'
import { backendTarget, cosine, embedTexts } from 'switchyard/plugin'
import { createFactExtractor, sameFacts, type PromptFacts } from './guard.ts'

interface Remembered {
  readonly vector: Float32Array
  readonly facts: PromptFacts
  readonly entry: CacheEntry
  readonly expiresAt: number
}

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
  }),
  setup: ({ name, options, gateway, signal: pluginSignal, keep }) => {
    const target = backendTarget(name, options.backend, gateway)
    const extractor = createFactExtractor()
    // Remembered prompts carry on across config reloads while the embedding model and its server stay the same.
    const { scopes, order, recent } = keep(`store ${target.url} ${options.model}`, () => ({
      /** Scope -> remembered prompts; the whole store is LRU-bounded by `maxEntries` across scopes. */
      scopes: new Map<string, Map<string, Remembered>>(),
      order: new Map<string, string>(),
      /** Vectors from lookups, so storing the answer does not embed the same prompt again. */
      recent: new Map<string, Float32Array>(),
    }))

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

    const forget = (key: string) => {
      const scope = order.get(key)
      if (scope === undefined) return
      order.delete(key)
      const bucket = scopes.get(scope)
      bucket?.delete(key)
      if (bucket?.size === 0) scopes.delete(scope)
    }
    const evict = () => {
      while (order.size > options.maxEntries) forget(order.keys().next().value as string)
    }
    evict()

    return {
      cacheNondeterministic: options.cacheNondeterministic,
      async get(key, signal, request) {
        const text = promptOf(request)
        if (text === undefined) return undefined
        const scope = scopeOf(request)
        const bucket = scopes.get(scope)
        if (!bucket) return undefined
        const vector = await embed(key, text, signal)
        const facts = extractor.facts(text)
        const now = Date.now()
        let best: { key: string; item: Remembered; similarity: number } | undefined
        for (const [k, item] of bucket) {
          if (item.expiresAt <= now) {
            forget(k)
            continue
          }
          const similarity = cosine(vector, item.vector)
          if (similarity >= options.threshold && (!best || similarity > best.similarity) && sameFacts(facts, item.facts)) {
            best = { key: k, item, similarity }
          }
        }
        if (!best) return undefined
        order.delete(best.key)
        order.set(best.key, scope)
        return { ...best.item.entry, similarity: best.similarity }
      },
      async set(key, entry, request) {
        const text = promptOf(request)
        if (text === undefined || entry.status !== 200) return
        const vector = await embed(key, text, pluginSignal)
        const scope = scopeOf(request)
        forget(key)
        let bucket = scopes.get(scope)
        if (!bucket) scopes.set(scope, (bucket = new Map()))
        const { similarity: _, ...stored } = entry
        bucket.set(key, { vector, facts: extractor.facts(text), entry: stored, expiresAt: Date.now() + options.ttlMs })
        order.set(key, scope)
        evict()
      },
    }
  },
})
