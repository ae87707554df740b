/** Ollama's model management (pull, push, create, copy, delete, blobs), proxied to one chosen Ollama backend. */
import type { Context, Hono } from 'hono'
import * as v from 'valibot'
import { ForbiddenError, InvalidRequestError, UpstreamError, messageOf } from '../../errors.ts'
import type { Auth } from '../../http/auth.ts'
import { type BoundedMap, createBoundedMap } from '../../pipeline/bounded-map.ts'
import type { GatewayDeps } from '../../pipeline/deps.ts'
import type { PipelineEnv } from '../../pipeline/env.ts'
import { latestAlias } from '../../pipeline/route.ts'
import { headerSafe } from '../../pipeline/stages.ts'
import { backendHeaders } from '../../pipeline/upstream.ts'
import type { BackendView } from '../../plugin/types.ts'
import { readJsonBody } from '../body.ts'
import { validateBody } from '../validate.ts'

/** Names the backend a management request goes to, in the request (a choice) and in the answer. */
export const BACKEND_HEADER = 'x-switchyard-backend'
/** How long the end of a successful answer waits for the probe round that lists the change. */
const REFRESH_WAIT_MS = 2_000

const ModelName = v.pipe(v.string(), v.trim(), v.minLength(1))
/** `model`, or `name` as older clients (and ollama-js's pull, push and delete) send it. */
const Named = v.pipe(
  v.looseObject({ model: v.optional(ModelName), name: v.optional(ModelName) }),
  v.check((b) => (b.model ?? b.name) !== undefined, '`model` is required'),
  v.transform((b) => b.model ?? b.name ?? ''),
)
const CreateBody = v.looseObject({
  model: v.optional(ModelName),
  name: v.optional(ModelName),
  from: v.optional(ModelName),
  files: v.optional(v.record(v.string(), v.string())),
  adapters: v.optional(v.record(v.string(), v.string())),
})
const CopyBody = v.looseObject({ source: ModelName, destination: ModelName })

/** What a request says about where it should run. */
interface Wanted {
  /** The model whose `models.<name>.backends` decides. */
  readonly model?: string
  /** A model the backend should already have (push, copy, delete, create's `from`). */
  readonly present?: string
  /** Blobs the request refers to (create's `files`): the backend they were uploaded to has them. */
  readonly blobs?: readonly string[]
}

interface Choice {
  readonly backend: BackendView
  readonly reason: string
}

/** Where recent blob uploads went, per config generation, so `create` with `files` follows them. */
const blobHomes = new WeakMap<GatewayDeps, BoundedMap<string, string>>()
const homesOf = (deps: GatewayDeps) => {
  let homes = blobHomes.get(deps)
  if (!homes) blobHomes.set(deps, (homes = createBoundedMap(1_000)))
  return homes
}

/** Whether the request carries a valid client key (that is not the admin key). */
function hasClientKey(auth: Auth, req: Request): boolean {
  if (!auth.required) return false
  try {
    return auth.client(req) !== undefined
  } catch {
    return false
  }
}

/** With auth on, only the admin key changes what the backends hold: 401 without a key, 403 with a client key. */
function requireAdmin(auth: Auth, req: Request): void {
  if (!auth.required && !auth.adminRequired) return
  if (auth.adminRequired) {
    try {
      auth.admin(req)
      return
    } catch (error) {
      if (hasClientKey(auth, req)) throw new ForbiddenError('model management needs the admin key, not a client key: send Authorization: Bearer <admin key>')
      throw error
    }
  }
  auth.client(req)
  throw new ForbiddenError('model management needs the admin key, and none is configured (auth.adminKey or auth.adminKeyEnv)')
}

const sameModel = (a: string, b: string) => a === b || latestAlias(a) === b

function pinnedBackends(deps: GatewayDeps, model: string): readonly string[] | undefined {
  const models = deps.config.models ?? {}
  for (const name of [model, latestAlias(model)]) if (Object.hasOwn(models, name)) return models[name]?.backends
  return undefined
}

function freeMiB(b: BackendView): number | undefined {
  const known = b.gpus.flatMap((g) => (g.memoryFreeMiB === undefined ? [] : [g.memoryFreeMiB]))
  return known.length > 0 ? known.reduce((sum, m) => sum + m, 0) : undefined
}

/** Most free GPU memory first (backends without figures after those with them), then fewest loaded models, then config order. */
function byRoom(views: readonly BackendView[]): BackendView[] {
  const ranked = views.map((b, index) => ({ b, index, free: freeMiB(b) }))
  ranked.sort((x, y) =>
    Number(x.free === undefined) - Number(y.free === undefined) || (y.free ?? 0) - (x.free ?? 0) ||
    x.b.loaded.length - y.b.loaded.length || x.index - y.index)
  return ranked.map((r) => r.b)
}

const listed = (views: readonly BackendView[]) => views.map((b) => b.name).join(', ') || 'none'

/** The Ollama backend for a management request; the rules are in the README (model management). */
export function chooseManagingBackend(deps: GatewayDeps, named: string | null, wanted: Wanted): Choice {
  const views = deps.health.views()
  const ollama = views.filter((b) => b.kind === 'ollama')
  if (named !== null) {
    const backend = views.find((b) => b.name === named)
    if (!backend) throw new InvalidRequestError(`${BACKEND_HEADER}: no backend is named "${named}"; Ollama backends: ${listed(ollama)}`)
    if (backend.kind !== 'ollama') {
      throw new InvalidRequestError(`backend "${named}" is OpenAI-compatible and cannot pull, push, create, copy or delete models; Ollama backends: ${listed(ollama)}`)
    }
    return { backend, reason: `named by ${BACKEND_HEADER}` }
  }
  if (ollama.length === 0) throw new InvalidRequestError('no Ollama backend is configured, and only Ollama backends can pull, push, create, copy or delete models')
  const homes = homesOf(deps)
  for (const digest of wanted.blobs ?? []) {
    const backend = ollama.find((b) => b.name === homes.get(digest))
    if (backend) return { backend, reason: `blob ${digest} was uploaded there` }
  }
  const pinned = wanted.model ? pinnedBackends(deps, wanted.model) : undefined
  const pinnedOllama = ollama.filter((b) => pinned?.includes(b.name))
  if (wanted.model && pinnedOllama.length > 0) {
    // A model pinned to backends is served only there: one that is down is named in a 502 rather than passed over.
    const backend = pinnedOllama.find((b) => b.up === true) ?? (pinnedOllama[0] as BackendView)
    return { backend, reason: `models.${wanted.model}.backends` }
  }
  const up = ollama.filter((b) => b.up === true)
  const present = wanted.present
  if (present) {
    const [backend] = byRoom(up.filter((b) => b.models.some((m) => sameModel(m.name, present))))
    if (backend) return { backend, reason: `serves ${present}` }
  }
  const [backend] = byRoom(up)
  if (backend) {
    const free = freeMiB(backend)
    return { backend, reason: free === undefined ? 'up, fewest loaded models' : `most free GPU memory (${free} MiB)` }
  }
  const states = ollama.map((b) => `${b.name}: ${b.up === false ? `down${deps.health.lastError(b.name) ? ` (${deps.health.lastError(b.name)})` : ''}` : 'not probed yet'}`)
  throw new UpstreamError(`no Ollama backend is up to manage models on (${states.join('; ')})`, 502)
}

/** What each endpoint's body says about where it runs; bad input is a 400 here. */
function wantedBy(path: string, json: Record<string, unknown>): Wanted {
  switch (path) {
    case '/api/create': {
      const body = validateBody(CreateBody, json)
      const model = body.model ?? body.name
      if (!model) throw new InvalidRequestError('`model` is required')
      return { model, present: body.from, blobs: [...Object.values(body.files ?? {}), ...Object.values(body.adapters ?? {})] }
    }
    case '/api/copy': {
      const { source } = validateBody(CopyBody, json)
      return { model: source, present: source }
    }
    case '/api/pull':
      return { model: validateBody(Named, json) }
    default: {
      const model = validateBody(Named, json)
      return { model, present: model }
    }
  }
}

/** Pull, create, copy and delete change what a backend lists: probe at once so tags and routing see it. */
const CHANGES_MODELS = new Set(['/api/pull', '/api/create', '/api/copy', '/api/delete'])

async function proxy(c: Context<PipelineEnv>): Promise<Response> {
  const deps = c.get('deps')
  const req = c.req.raw
  requireAdmin(deps.auth, req)
  const path = c.req.path
  const blob = path.startsWith('/api/blobs/') ? c.req.param('digest') : undefined
  let body: BodyInit | null = null
  let wanted: Wanted = {}
  if (blob === undefined) {
    const read = await readJsonBody(req, deps.config.server.maxBodyBytes)
    wanted = wantedBy(path, read.json)
    body = read.bytes as BodyInit
  } else if (req.method === 'POST') body = req.body
  const { backend, reason } = chooseManagingBackend(deps, req.headers.get(BACKEND_HEADER), wanted)
  if (backend.up === false) {
    const last = deps.health.lastError(backend.name)
    throw new UpstreamError(`backend "${backend.name}" (${backend.url}) is down${last ? `: ${last}` : ''}`, 502)
  }
  const config = deps.config.backends.find((b) => b.name === backend.name)
  const headers: Record<string, string> = { ...(config ? backendHeaders(config) : {}), 'accept-encoding': 'identity' }
  if (body) headers['content-type'] = req.headers.get('content-type') ?? 'application/json'
  const length = req.headers.get('content-length')
  if (blob !== undefined && length) headers['content-length'] = length
  // A pull with `stream: false` is silent until it is done: neither our server nor fetch may time it out.
  c.env?.timeout(req, 0)
  let upstream: Response
  try {
    upstream = await fetch(`${backend.url}${path}`, { method: req.method, headers, body, signal: req.signal, timeout: false })
  } catch (error) {
    if (req.signal.aborted) return new Response(null, { status: 499 })
    throw new UpstreamError(`backend "${backend.name}" (${backend.url}) could not be reached: ${messageOf(error)}`, 502, { cause: error })
  }
  if (blob !== undefined && upstream.ok) homesOf(deps).set(blob, backend.name)
  const out: Record<string, string> = { [BACKEND_HEADER]: backend.name, 'x-switchyard-reason': headerSafe(reason) }
  const type = upstream.headers.get('content-type')
  if (type) out['content-type'] = type
  if (!upstream.ok || !CHANGES_MODELS.has(path)) return new Response(upstream.body, { status: upstream.status, headers: out })
  const settle = () => Promise.race([deps.refresh().catch(() => {}), Bun.sleep(REFRESH_WAIT_MS)])
  if (!upstream.body) {
    await settle()
    return new Response(null, { status: upstream.status, headers: out })
  }
  // The answer ends once the gateway has seen the change, so a client can use the model right after `success`.
  const relayed = upstream.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: () => settle() }))
  return new Response(relayed, { status: upstream.status, headers: out })
}

/** HEAD reaches Hono as GET: only HEAD is Ollama's blob check. */
async function blobCheck(c: Context<PipelineEnv>): Promise<Response> {
  if (c.req.method !== 'HEAD') return c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404)
  return proxy(c)
}

/** Adds the management endpoints to the Ollama sub-app (whose `onError` words failures as `{"error"}`). */
export function addManagementRoutes(app: Hono<PipelineEnv>): void {
  for (const path of ['/api/pull', '/api/push', '/api/create', '/api/copy', '/api/blobs/:digest']) app.post(path, proxy)
  app.delete('/api/delete', proxy)
  app.get('/api/blobs/:digest', blobCheck)
}
