/** Ollama's model management on the simulator: pull, push, create, copy, delete and blobs, paced by its clock. */
import type { SimContext } from './engine.ts'
import { createModelSpec, type ModelSpec, normalizeName } from './models.ts'
import { ollamaError, ollamaModelNotFound } from './ollama.ts'
import { jsonResponse, ndjsonResponse } from './stream.ts'

/** Simulated registry speed, both ways: a 7B model (about 4.5 GB) takes about 4.5 s of model time. */
const BYTES_PER_SECOND = 1e9
/** Progress lines a big layer reports while it moves: at least this many, and one per half second of model time. */
const PROGRESS_STEPS = 8
const PROGRESS_EVERY_MS = 500
/** The small layers every manifest has besides the weights, with typical sizes. */
const SMALL_LAYERS: readonly (readonly [part: string, bytes: number])[] = [['template', 1_429], ['license', 11_357], ['params', 96]]
const DIGEST = /^sha256[:-]([0-9a-f]{64})$/

type Frame = Readonly<Record<string, unknown>>
type Operation = 'pull' | 'push' | 'create'

interface Layer {
  readonly digest: string
  readonly bytes: number
}

/** A failure the handler words itself: a status before the first line, an `{"error"}` line after it. */
class ManageFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

/** What `GET /sim/manage` shows: transfers running now and how the finished ones ended. */
export interface ManageStats {
  active: { operation: Operation; model: string }[]
  completed: number
  cancelled: number
}

export interface ModelManager {
  /** The answer for a management route, or undefined when `path` is not one. */
  route(req: Request, path: string): Promise<Response> | undefined
  stats(): ManageStats
}

const encoder = new TextEncoder()
const sha256 = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex')
const now = () => new Date().toISOString()

function layersOf(spec: ModelSpec): Layer[] {
  const small = SMALL_LAYERS.map(([part, bytes]) => ({ digest: `sha256:${sha256(`${spec.digest}:${part}`)}`, bytes }))
  const weights = Math.max(1, spec.sizeBytes - small.reduce((sum, l) => sum + l.bytes, 0))
  return [{ digest: `sha256:${spec.digest}`, bytes: weights }, ...small]
}

async function readBody(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text()
  if (text.trim() === '') throw new ManageFailure(400, 'missing request body')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw new ManageFailure(400, `invalid JSON body: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ManageFailure(400, 'request body must be a JSON object')
  return body as Record<string, unknown>
}

const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined)

/** `model`, or `name` as older clients send it; Ollama refuses names with spaces or nothing in them. */
function modelName(body: Record<string, unknown>, field = 'model'): string {
  const name = text(body[field]) ?? (field === 'model' ? text(body.name) : undefined)
  if (!name || /\s/.test(name)) throw new ManageFailure(400, name ? 'invalid model name' : `${field} is required`)
  return name
}

export function createModelManager(ctx: SimContext): ModelManager {
  const blobs = new Map<string, number>()
  const active = new Set<{ operation: Operation; model: string }>()
  let completed = 0
  let cancelled = 0

  /** Moves one layer, reporting progress as `<verb> <digest12>` lines; a layer already there reports done at once. */
  async function* move(verb: string, layer: Layer, present: boolean, signal: AbortSignal): AsyncGenerator<Frame> {
    const status = `${verb} ${layer.digest.slice(7, 19)}`
    if (present) {
      yield { status, digest: layer.digest, total: layer.bytes, completed: layer.bytes }
      return
    }
    // Ollama leaves `completed` out until something has arrived.
    yield { status, digest: layer.digest, total: layer.bytes }
    const ms = (layer.bytes / BYTES_PER_SECOND) * 1000
    const steps = layer.bytes > 1_048_576 ? Math.max(PROGRESS_STEPS, Math.ceil(ms / PROGRESS_EVERY_MS)) : 1
    for (let step = 1; step <= steps; step++) {
      await ctx.clock.wait(ms / steps, signal)
      yield { status, digest: layer.digest, total: layer.bytes, completed: Math.round((layer.bytes * step) / steps) }
    }
  }

  /** A pull up to the manifest; the caller lists the model and says success. */
  async function* fetchModel(name: string, signal: AbortSignal): AsyncGenerator<Frame, ModelSpec> {
    yield { status: 'pulling manifest' }
    const existing = ctx.catalog.find(name)
    const spec = existing ?? { ...createModelSpec(normalizeName(name)), modifiedAt: now() }
    for (const layer of layersOf(spec)) yield* move('pulling', layer, existing !== undefined, signal)
    yield { status: 'verifying sha256 digest' }
    yield { status: 'writing manifest' }
    return spec
  }

  async function* pull(name: string, signal: AbortSignal): AsyncGenerator<Frame> {
    const spec = yield* fetchModel(name, signal)
    ctx.catalog.add(spec)
    yield { status: 'success' }
  }

  async function* push(spec: ModelSpec, signal: AbortSignal): AsyncGenerator<Frame> {
    yield { status: 'retrieving manifest' }
    for (const layer of layersOf(spec)) yield* move('pushing', layer, false, signal)
    yield { status: 'pushing manifest' }
    yield { status: 'success' }
  }

  async function* create(name: string, body: Record<string, unknown>, files: readonly string[], signal: AbortSignal): AsyncGenerator<Frame> {
    const from = text(body.from)
    let spec: ModelSpec
    let base: readonly string[]
    if (from) {
      // As Ollama does, a base model that is not here yet is pulled first.
      const source = ctx.catalog.find(from) ?? (yield* fetchModel(from, signal))
      ctx.catalog.add(source)
      spec = { ...source, name: normalizeName(name), digest: sha256(`${name}:${source.digest}`), modifiedAt: now() }
      base = layersOf(source).map((l) => l.digest)
    } else {
      yield* files.map(() => ({ status: 'parsing GGUF' }))
      spec = { ...createModelSpec(normalizeName(name)), modifiedAt: now() }
      base = files
    }
    for (const digest of base) yield { status: `using existing layer ${digest}` }
    for (const part of ['template', 'system', 'license', 'parameters', 'messages']) {
      if (body[part] !== undefined) yield { status: `creating new layer sha256:${sha256(JSON.stringify(body[part]))}` }
    }
    yield { status: 'writing manifest' }
    ctx.catalog.add(spec)
    yield { status: 'success' }
  }

  /** NDJSON when streamed (Ollama's default), else the last line alone once everything is done. */
  function respond(req: Request, body: Record<string, unknown>, operation: Operation, model: string, frames: (signal: AbortSignal) => AsyncGenerator<Frame>): Promise<Response> | Response {
    const controller = new AbortController()
    const signal = AbortSignal.any([req.signal, controller.signal])
    const entry = { operation, model }
    active.add(entry)
    let ended = false
    const end = (how: 'completed' | 'cancelled') => {
      if (ended) return
      ended = true
      active.delete(entry)
      if (how === 'completed') completed++
      else cancelled++
    }
    const iterator = frames(signal)
    if (body.stream === false) {
      return (async () => {
        let last: Frame = {}
        try {
          for await (const frame of iterator) last = frame
        } catch (error) {
          if (signal.aborted) {
            end('cancelled')
            return new Response(null, { status: 499 })
          }
          end('completed')
          return failureResponse(error)
        }
        end('completed')
        return jsonResponse(last)
      })()
    }
    const stream = new ReadableStream<Uint8Array>({
      async pull(out) {
        try {
          const { done, value } = await iterator.next()
          if (done) {
            end('completed')
            out.close()
          } else out.enqueue(encoder.encode(`${JSON.stringify(value)}\n`))
        } catch (error) {
          if (signal.aborted) {
            end('cancelled')
            return
          }
          end('completed')
          out.enqueue(encoder.encode(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`))
          out.close()
        }
      },
      cancel(reason) {
        controller.abort(reason)
        end('cancelled')
      },
    })
    return ndjsonResponse(stream)
  }

  function failureResponse(error: unknown): Response {
    if (error instanceof ManageFailure) return ollamaError(error.status, error.message)
    return ollamaError(500, error instanceof Error ? error.message : String(error))
  }

  async function handlePull(req: Request): Promise<Response> {
    const body = await readBody(req)
    const name = modelName(body)
    return respond(req, body, 'pull', name, (signal) => pull(name, signal))
  }

  async function handlePush(req: Request): Promise<Response> {
    const body = await readBody(req)
    const name = modelName(body)
    const spec = ctx.catalog.find(name)
    if (!spec) return ollamaModelNotFound(name)
    return respond(req, body, 'push', spec.name, (signal) => push(spec, signal))
  }

  async function handleCreate(req: Request): Promise<Response> {
    const body = await readBody(req)
    const name = modelName(body)
    const files = body.files && typeof body.files === 'object' ? Object.values(body.files as Record<string, unknown>) : []
    if (!text(body.from) && files.length === 0) throw new ManageFailure(400, "neither 'from' or 'files' was specified")
    const digests: string[] = []
    for (const digest of files) {
      const hex = typeof digest === 'string' ? DIGEST.exec(digest)?.[1] : undefined
      if (!hex) throw new ManageFailure(400, `invalid digest format: ${String(digest)}`)
      if (!blobs.has(hex)) throw new ManageFailure(400, `blob not found (digest sha256:${hex})`)
      digests.push(`sha256:${hex}`)
    }
    return respond(req, body, 'create', name, (signal) => create(name, body, digests, signal))
  }

  async function handleCopy(req: Request): Promise<Response> {
    const body = await readBody(req)
    const source = modelName(body, 'source')
    const destination = modelName(body, 'destination')
    const spec = ctx.catalog.find(source)
    if (!spec) return ollamaModelNotFound(source)
    ctx.catalog.add({ ...spec, name: normalizeName(destination), modifiedAt: now() })
    return new Response(null, { status: 200 })
  }

  async function handleDelete(req: Request): Promise<Response> {
    const body = await readBody(req)
    const name = modelName(body)
    const spec = ctx.catalog.find(name)
    if (!spec) return ollamaModelNotFound(name)
    ctx.runtime.unload(spec)
    ctx.catalog.remove(name)
    return new Response(null, { status: 200 })
  }

  /** `HEAD` says whether the blob is here; `POST` stores it when its bytes hash to the digest. */
  async function handleBlob(req: Request, encoded: string): Promise<Response> {
    const hex = DIGEST.exec(encoded.replace(/%3a/i, ':'))?.[1]
    if (req.method === 'HEAD') return new Response(null, { status: hex && blobs.has(hex) ? 200 : 404 })
    if (!hex) throw new ManageFailure(400, 'invalid digest format')
    const bytes = new Uint8Array(await req.arrayBuffer())
    const got = new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
    if (got !== hex) throw new ManageFailure(400, `digest mismatch, expected "sha256:${hex}", got "sha256:${got}"`)
    blobs.set(hex, bytes.byteLength)
    return new Response(null, { status: 201 })
  }

  const routes: Readonly<Record<string, (req: Request) => Promise<Response>>> = {
    'POST /api/pull': handlePull,
    'POST /api/push': handlePush,
    'POST /api/create': handleCreate,
    'POST /api/copy': handleCopy,
    'DELETE /api/delete': handleDelete,
  }

  const stats = (): ManageStats => ({ active: [...active].map((e) => ({ ...e })), completed, cancelled })

  return {
    route(req, path) {
      let handler = routes[`${req.method} ${path}`]
      if (!handler && path.startsWith('/api/blobs/') && (req.method === 'HEAD' || req.method === 'POST')) {
        handler = (r) => handleBlob(r, path.slice('/api/blobs/'.length))
      }
      if (!handler && req.method === 'GET' && path === '/sim/manage') handler = async () => jsonResponse(stats())
      if (!handler) return undefined
      return handler(req).catch(failureResponse)
    },
    stats,
  }
}
