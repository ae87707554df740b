/** Cache keys, the cacheable test, lookup/store through cache plugins, and replay in the client's framing. */
import type { CacheEntry, ChatRequest } from '../plugin/types.ts'
import type { GatewayDeps } from './deps.ts'

/** Output-changing fields only; the key also covers protocol, operation and stream framing. */
const IGNORED_FIELDS = new Set(['stream', 'keep_alive', 'user', 'metadata', 'store'])

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

export function cacheKey(req: ChatRequest): string {
  const body: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(req.body)) if (!IGNORED_FIELDS.has(k)) body[k] = v
  const text = JSON.stringify([req.protocol, req.operation, req.stream, canonical(body)])
  return `${req.protocol}:${req.model}:${new Bun.CryptoHasher('sha256').update(text).digest('hex')}`
}

/** Deterministic requests only: temperature 0, or a fixed seed; embeddings always. */
export function isCacheable(req: ChatRequest): boolean {
  if (req.operation === 'embed') return true
  if (req.seed !== undefined) return true
  return req.temperature === 0
}

export async function lookupCache(deps: GatewayDeps, key: string, request: ChatRequest, signal: AbortSignal): Promise<CacheEntry | undefined> {
  for (const plugin of deps.plugins.of('cache')) {
    try {
      const hit = await plugin.instance.get(key, signal, request)
      if (hit) return hit
    } catch (error) {
      deps.log.warn('cache lookup failed', { plugin: plugin.name, error: error instanceof Error ? error.message : String(error) })
    }
  }
  return undefined
}

export function storeEntry(deps: GatewayDeps, key: string, entry: CacheEntry, request: ChatRequest): void {
  for (const plugin of deps.plugins.of('cache')) {
    plugin.instance.set(key, entry, request).catch((error: unknown) => {
      deps.log.warn('cache store failed', { plugin: plugin.name, error: error instanceof Error ? error.message : String(error) })
    })
  }
}

/** A stored answer sent again with the same framing it was recorded in. */
export function replayEntry(entry: CacheEntry, req: ChatRequest): Response {
  const encoder = new TextEncoder()
  if (!req.stream) return new Response(entry.chunks.join(''), { status: entry.status, headers: { 'content-type': entry.contentType } })
  let i = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = entry.chunks[i++]
      if (chunk === undefined) controller.close()
      else controller.enqueue(encoder.encode(chunk))
    },
  })
  return new Response(body, { status: entry.status, headers: { 'content-type': entry.contentType, 'cache-control': 'no-cache' } })
}
