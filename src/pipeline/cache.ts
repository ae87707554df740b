/** Cache keys, which caches may serve a request, lookup/store through cache plugins, and replay in the client's framing. */
import type { LoadedPlugin } from '../plugin/load.ts'
import type { CacheEntry, ChatRequest } from '../plugin/types.ts'
import type { GatewayDeps } from './deps.ts'
import { streamErrorFrame } from './relay.ts'
import type { Target } from './route.ts'
import { createSingleFlight, type Flight, type SingleFlight } from './single-flight.ts'
import { withDeadline } from './deadlines.ts'
import { messageOf } from '../errors.ts'

/** A lookup that takes longer is a miss: a slow cache must never stall a request for long. */
export const CACHE_LOOKUP_DEADLINE_MS = 2_000

/** Output-changing fields only; the key also covers protocol, operation, stream framing and the resolved model. */
const IGNORED_FIELDS = new Set(['model', 'stream', 'keep_alive', 'user', 'metadata', 'store'])

type CachePlugin = LoadedPlugin<'cache'>

interface CacheRuntime {
  readonly flights: SingleFlight
  /** Cache plugins whose last call failed: their failures are logged once per outage, not per request. */
  readonly failing: Set<string>
}

// Keyed by a generation's deps (owned by gateway.ts) so the state lives and dies with that generation.
const runtimes = new WeakMap<GatewayDeps, CacheRuntime>()

export function cacheRuntime(deps: GatewayDeps): CacheRuntime {
  let runtime = runtimes.get(deps)
  if (!runtime) {
    runtime = { flights: createSingleFlight(), failing: new Set() }
    runtimes.set(deps, runtime)
  }
  return runtime
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

/** The model a cached answer must come from: the resolved model name, or the route name for a virtual model. */
export function targetModel(target: Target): string {
  return target.kind === 'model' ? target.model : target.name
}

export function cacheKey(req: ChatRequest, model: string = req.model): string {
  const body: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(req.body)) if (!IGNORED_FIELDS.has(k)) body[k] = v
  const text = JSON.stringify([req.protocol, req.operation, req.stream, model, canonical(body)])
  return `${req.protocol}:${model}:${Bun.CryptoHasher.hash('sha256', text, 'hex')}`
}

/**
 * Deterministic requests: temperature 0 or a fixed seed; embeddings always. An omitted temperature is not
 * 0 (OpenAI defaults to 1, Ollama to 0.8), so such requests are non-deterministic.
 */
export function isDeterministic(req: ChatRequest): boolean {
  if (req.operation === 'embed') return true
  if (req.seed !== undefined) return true
  return req.temperature === 0
}

/** The cache plugins that may serve and store this request: all for deterministic ones, else those that opt in. */
export function eligibleCaches(deps: GatewayDeps, req: ChatRequest): readonly CachePlugin[] {
  const caches = deps.plugins.of('cache')
  return isDeterministic(req) ? caches : caches.filter((p) => p.instance.cacheNondeterministic === true)
}

/** A request pinned to a model is only ever answered by an entry that model wrote (never a fallback's answer). */
export function entryFits(entry: CacheEntry, target: Target): boolean {
  return target.kind === 'route' || entry.model === target.model
}

function noteFailure(deps: GatewayDeps, plugin: CachePlugin, what: string, error: unknown): void {
  const { failing } = cacheRuntime(deps)
  if (failing.has(plugin.name)) return
  failing.add(plugin.name)
  deps.log.warn(`cache ${what} failed; cache bypassed until it recovers, further failures not logged`, { plugin: plugin.name, error: messageOf(error) })
}

function noteSuccess(deps: GatewayDeps, plugin: CachePlugin): void {
  const { failing } = cacheRuntime(deps)
  if (failing.delete(plugin.name)) deps.log.info('cache recovered', { plugin: plugin.name })
}

export interface Lookup {
  readonly hit?: CacheEntry
  /** Every cache consulted failed (for example Redis is down): the cache was bypassed, not missed. */
  readonly failed: boolean
}

/**
 * Asks the caches in config order; the first fitting entry wins. Failures are misses, logged once per outage.
 * In-process caches answer directly: the result is a promise only once a cache answers with one.
 */
export function lookupCache(
  deps: GatewayDeps, caches: readonly CachePlugin[], key: string, request: ChatRequest, target: Target, signal: AbortSignal,
): Lookup | Promise<Lookup> {
  let failures = 0
  for (let i = 0; i < caches.length; i++) {
    const plugin = caches[i]!
    if (!plugin.instance.inProcess) return lookupAsync(deps, caches, i, failures, key, request, target, signal)
    let hit: ReturnType<CachePlugin['instance']['get']>
    try {
      hit = plugin.instance.get(key, signal, request)
    } catch (error) {
      failures++
      noteFailure(deps, plugin, 'lookup', error)
      continue
    }
    if (hit instanceof Promise) return lookupAsync(deps, caches, i, failures, key, request, target, signal, hit)
    noteSuccess(deps, plugin)
    if (hit && entryFits(hit, target)) return { hit, failed: false }
  }
  return { failed: caches.length > 0 && failures === caches.length }
}

/** The rest of a lookup from cache `start` on, awaiting each; `pending` is cache `start`'s answer when it was asked already. */
async function lookupAsync(
  deps: GatewayDeps, caches: readonly CachePlugin[], start: number, failures: number, key: string, request: ChatRequest, target: Target,
  signal: AbortSignal, pending?: Promise<CacheEntry | undefined>,
): Promise<Lookup> {
  for (let i = start; i < caches.length; i++) {
    const { instance } = caches[i]!
    try {
      const answer = i === start && pending ? pending : instance.inProcess ? instance.get(key, signal, request) : withDeadline(async (s) => instance.get(key, s, request), CACHE_LOOKUP_DEADLINE_MS, signal)
      const hit = await answer
      noteSuccess(deps, caches[i]!)
      if (hit && entryFits(hit, target)) return { hit, failed: false }
    } catch (error) {
      if (signal.aborted) throw error
      failures++
      noteFailure(deps, caches[i]!, 'lookup', error)
    }
  }
  return { failed: caches.length > 0 && failures === caches.length }
}

/** Hands a complete answer to every eligible cache; never throws, never delays the response. */
export function storeEntry(deps: GatewayDeps, key: string, entry: CacheEntry, request: ChatRequest, target: Target): void {
  if (!entryFits(entry, target)) return
  for (const plugin of eligibleCaches(deps, request)) {
    let stored: void | Promise<void>
    try {
      stored = plugin.instance.set(key, entry, request)
    } catch (error) {
      noteFailure(deps, plugin, 'store', error)
      continue
    }
    if (!(stored instanceof Promise)) {
      noteSuccess(deps, plugin)
      continue
    }
    stored.then(
      () => noteSuccess(deps, plugin),
      (error: unknown) => noteFailure(deps, plugin, 'store', error),
    )
  }
}

const encoder = new TextEncoder()

/** A stored answer sent again with the same framing it was recorded in. */
export function replayEntry(entry: CacheEntry, req: ChatRequest, extraHeaders: Record<string, string> = {}): Response {
  if (!req.stream) return new Response(entry.chunks.join(''), { status: entry.status, headers: { 'content-type': entry.contentType, ...extraHeaders } })
  let i = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = entry.chunks[i++]
      if (chunk === undefined) controller.close()
      else controller.enqueue(encoder.encode(chunk))
    },
  })
  return new Response(body, { status: entry.status, headers: { 'content-type': entry.contentType, 'cache-control': 'no-cache', ...extraHeaders } })
}

/** A follower's response: the leader's status, headers and bytes; undefined when it must run the request itself. */
export async function followFlight(flight: Flight, request: ChatRequest): Promise<Response | undefined> {
  const head = await flight.head
  if (!head) return undefined
  const headers = new Headers(head.headers)
  headers.delete('content-length')
  headers.set('x-switchyard-single-flight', 'follower')
  if (!request.stream) {
    // Nothing has been sent yet, so a cut-off leader leaves this request free to run on its own.
    if ((await flight.done) === 'aborted') return undefined
    return new Response(flight.body(), { status: head.status, headers })
  }
  const body = flight.follow(() => streamErrorFrame(request, 'the shared upstream answer was cut off'))
  return new Response(body, { status: head.status, headers })
}
