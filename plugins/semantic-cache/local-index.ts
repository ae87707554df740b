/** semantic-cache's in-process index: remembered prompts per scope, LRU-bounded across scopes, searched by cosine. */
import type { CacheEntry } from 'switchyard/plugin'
import { cosine } from 'switchyard/plugin'
import { sameFacts, type PromptFacts } from './guard.ts'

export interface Remembered {
  readonly vector: Float32Array
  readonly facts: PromptFacts
  readonly entry: CacheEntry
  readonly expiresAt: number
}

export interface Match {
  readonly key: string
  readonly item: Remembered
  readonly similarity: number
}

export interface LocalIndex {
  /** Whether anything is remembered for `scope` (a lookup without it needs no embedding). */
  hasScope(scope: string): boolean
  /** The most similar live entry of `scope` at or above `threshold` whose facts agree; a match becomes most recently used. */
  find(scope: string, vector: Float32Array, facts: PromptFacts, threshold: number): Match | undefined
  /** Adds or replaces `key`, as most recently used, then drops the least recently used beyond `maxEntries`. */
  add(key: string, scope: string, item: Remembered, maxEntries: number): void
  /** The entry under `key` with its scope, while it is remembered and live. */
  entry(key: string): { readonly scope: string; readonly item: Remembered } | undefined
  /** Drops the least recently used beyond `maxEntries`. */
  trim(maxEntries: number): void
}

export function createLocalIndex(): LocalIndex {
  /** Scope -> remembered prompts; the whole store is LRU-bounded across scopes. */
  const scopes = new Map<string, Map<string, Remembered>>()
  /** Key -> scope, in least-recently-used-first order. */
  const order = new Map<string, string>()

  const forget = (key: string) => {
    const scope = order.get(key)
    if (scope === undefined) return
    order.delete(key)
    const bucket = scopes.get(scope)
    bucket?.delete(key)
    if (bucket?.size === 0) scopes.delete(scope)
  }
  const trim = (maxEntries: number) => {
    while (order.size > maxEntries) forget(order.keys().next().value as string)
  }

  return {
    hasScope: (scope) => scopes.has(scope),
    find(scope, vector, facts, threshold) {
      const bucket = scopes.get(scope)
      if (!bucket) return undefined
      const now = Date.now()
      let best: Match | undefined
      for (const [k, item] of bucket) {
        if (item.expiresAt <= now) {
          forget(k)
          continue
        }
        const similarity = cosine(vector, item.vector)
        if (similarity >= threshold && (!best || similarity > best.similarity) && sameFacts(facts, item.facts)) {
          best = { key: k, item, similarity }
        }
      }
      if (!best) return undefined
      order.delete(best.key)
      order.set(best.key, scope)
      return best
    },
    add(key, scope, item, maxEntries) {
      forget(key)
      let bucket = scopes.get(scope)
      if (!bucket) scopes.set(scope, (bucket = new Map()))
      bucket.set(key, item)
      order.set(key, scope)
      trim(maxEntries)
    },
    entry(key) {
      const scope = order.get(key)
      const item = scope === undefined ? undefined : scopes.get(scope)?.get(key)
      return scope !== undefined && item && item.expiresAt > Date.now() ? { scope, item } : undefined
    },
    trim,
  }
}
