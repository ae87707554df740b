/** `startSimulator`: one Bun server speaking Ollama and OpenAI, with stats, faults and keep-alive state. */
import { handleOllamaEmbed, handleOllamaEmbeddings, handleOpenAIEmbeddings } from './embeddings.ts'
import type { GenerationHandler, SimContext } from './engine.ts'
import { createFaultQueue, dropMidStream, FAULT_HEADER, parseFault, withoutUsage, type Fault, type FaultQueue } from './faults.ts'
import { DEFAULT_OUTPUT_TOKENS } from './generate.ts'
import { createAnswerMemory } from './judge.ts'
import { createClock, sleep, waitForAbort } from './latency.ts'
import { createModelCatalog, DEFAULT_MODELS, startModelRuntime } from './models.ts'
import { createModelManager, type ModelManager } from './manage.ts'
import { handleOllamaChat, handleOllamaGenerate, ollamaError } from './ollama.ts'
import { handlePs, handleShow, handleTags, handleVersion } from './ollama-info.ts'
import { handleChatCompletions, handleCompletions, handleGetModel, handleListModels, openaiError } from './openai.ts'
import { createStatsBook, type SimStats, type StatsBook } from './stats.ts'
import { isStreamed, jsonResponse } from './stream.ts'
import { modelField } from './request-body.ts'
import { messageOf } from '../errors.ts'

export interface SimulatorOptions {
  port?: number
  hostname?: string
  /** Replaces the default catalog. */
  models?: readonly string[]
  /** Divides every simulated delay. */
  speed?: number
  /** No simulated delays at all (benchmarks). */
  instant?: boolean
  /** Tokens an answer has when no limit cuts it (default 24; quality mode sizes answers itself). */
  outputTokens?: number
  /**
   * Answers follow the quality model (docs/simulator.md): some are bad in a size-dependent way, each carries
   * `x-sim-quality`, and rubric prompts get a simulated judge's score. Off: answers are the plain word stream.
   */
  quality?: boolean
}

export interface SimHandle {
  readonly url: string
  readonly port: number
  readonly models: readonly string[]
  stats(): SimStats
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

type Protocol = 'ollama' | 'openai'
type ErrorRenderer = (status: number, message: string) => Response

const ERRORS: Readonly<Record<Protocol, ErrorRenderer>> = { ollama: ollamaError, openai: openaiError }

const GENERATION_ROUTES: Readonly<Record<string, { protocol: Protocol; handler: GenerationHandler }>> = {
  '/api/chat': { protocol: 'ollama', handler: handleOllamaChat },
  '/api/generate': { protocol: 'ollama', handler: handleOllamaGenerate },
  '/api/embed': { protocol: 'ollama', handler: handleOllamaEmbed },
  '/api/embeddings': { protocol: 'ollama', handler: handleOllamaEmbeddings },
  '/v1/chat/completions': { protocol: 'openai', handler: handleChatCompletions },
  '/v1/completions': { protocol: 'openai', handler: handleCompletions },
  '/v1/embeddings': { protocol: 'openai', handler: handleOpenAIEmbeddings },
}

const notFound = () => new Response('404 page not found', { status: 404, headers: { 'content-type': 'text/plain' } })
const methodNotAllowed = () => new Response('405 method not allowed', { status: 405, headers: { 'content-type': 'text/plain' } })
/** What a handler returns once its client is gone; nobody reads it. */
const gone = () => new Response(null, { status: 499 })

async function readJson(req: Request): Promise<{ ok: true; body: unknown } | { ok: false; message: string }> {
  const text = await req.text()
  if (text.trim() === '') return { ok: true, body: undefined }
  try {
    return { ok: true, body: JSON.parse(text) }
  } catch (error) {
    return { ok: false, message: `invalid JSON body: ${messageOf(error)}` }
  }
}

interface Deps {
  readonly ctx: SimContext
  readonly stats: StatsBook
  readonly faults: FaultQueue
  readonly manage: ModelManager
}

async function handleGeneration(deps: Deps, req: Request, protocol: Protocol, handler: GenerationHandler): Promise<Response> {
  const error = ERRORS[protocol]
  const parsed = await readJson(req)
  const name = parsed.ok ? modelField(parsed.body) : undefined
  const model = name === undefined ? undefined : (deps.ctx.catalog.find(name)?.name ?? name)
  const scope = deps.stats.begin(model, req.signal)
  const header = req.headers.get(FAULT_HEADER)
  const fault: Fault | undefined = header ? parseFault(header) : deps.faults.take()
  try {
    if (header && !fault) {
      scope.finish()
      return error(400, `unknown ${FAULT_HEADER}: ${header}`)
    }
    if (fault?.kind === 'status') {
      scope.finish()
      return error(fault.status, `simulated fault: status ${fault.status}`)
    }
    if (fault?.kind === 'hang') {
      await waitForAbort(scope.signal)
      return gone()
    }
    if (fault?.kind === 'slow-first-byte') await sleep(fault.delayMs, scope.signal)
    if (!parsed.ok) {
      scope.finish()
      return error(400, parsed.message)
    }
    if (name === undefined) {
      scope.finish()
      return error(400, 'model is required')
    }
    const response = await handler(deps.ctx, parsed.body, scope)
    // Streamed bodies end their scope when the last frame goes out; everything else is done now.
    if (!isStreamed(response)) scope.finish()
    if (fault?.kind === 'no-usage') return await withoutUsage(response)
    return fault?.kind === 'drop-mid-stream' ? dropMidStream(response, () => scope.finish()) : response
  } catch (thrown) {
    if (scope.signal.aborted) return gone()
    scope.finish()
    return error(500, messageOf(thrown))
  }
}

/** Header faults on the listing routes too, so probes can be made to fail; queued faults stay on generations. */
async function withInfoFault(req: Request, respond: () => Response | Promise<Response>): Promise<Response> {
  const header = req.headers.get(FAULT_HEADER)
  if (!header) return respond()
  const fault = parseFault(header)
  if (!fault) return jsonResponse({ error: `unknown ${FAULT_HEADER}: ${header}` }, 400)
  switch (fault.kind) {
    case 'status':
      return jsonResponse({ error: `simulated fault: status ${fault.status}` }, fault.status)
    case 'hang':
      await waitForAbort(req.signal)
      return gone()
    case 'slow-first-byte':
      await sleep(fault.delayMs, req.signal).catch(() => {})
      return respond()
    case 'drop-mid-stream':
      return dropMidStream(await respond(), () => {})
    case 'no-usage':
      return respond()
  }
}

async function handleAdmin(deps: Deps, req: Request, path: string): Promise<Response> {
  const route = `${req.method} ${path}`
  if (route === 'GET /sim/stats') return jsonResponse(deps.stats.snapshot())
  if (route === 'POST /sim/stats/reset') {
    deps.stats.reset()
    return jsonResponse(deps.stats.snapshot())
  }
  if (route === 'GET /sim/faults') return jsonResponse({ pending: deps.faults.pending() })
  if (route === 'DELETE /sim/faults') {
    deps.faults.clear()
    return jsonResponse({ pending: [] })
  }
  if (route === 'POST /sim/faults') {
    const parsed = await readJson(req)
    const body = parsed.ok && parsed.body && typeof parsed.body === 'object' ? (parsed.body as Record<string, unknown>) : {}
    const fault = typeof body.fault === 'string' ? parseFault(body.fault) : undefined
    const count = body.count === undefined ? 1 : body.count
    if (!fault || typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      return jsonResponse({ error: 'expected {"fault": "status-500|hang|drop-mid-stream|no-usage|slow-first-byte=MS", "count": N}' }, 400)
    }
    deps.faults.push(fault, count)
    return jsonResponse({ pending: deps.faults.pending() })
  }
  return path === '/sim/stats' || path === '/sim/faults' || path === '/sim/stats/reset' ? methodNotAllowed() : notFound()
}

function route(deps: Deps, req: Request): Response | Promise<Response> {
  const path = new URL(req.url).pathname
  const generation = GENERATION_ROUTES[path]
  if (generation) {
    return req.method === 'POST' ? handleGeneration(deps, req, generation.protocol, generation.handler) : methodNotAllowed()
  }
  const managed = deps.manage.route(req, path)
  if (managed) return managed
  if (path.startsWith('/sim/')) return handleAdmin(deps, req, path)
  const read = req.method === 'GET' || req.method === 'HEAD'
  const { ctx } = deps
  if (path === '/' && read) {
    return withInfoFault(req, () => new Response('Ollama is running', { headers: { 'content-type': 'text/plain; charset=utf-8' } }))
  }
  if (path === '/api/version' && read) return withInfoFault(req, handleVersion)
  if (path === '/api/tags' && read) return withInfoFault(req, () => handleTags(ctx))
  if (path === '/api/ps' && read) return withInfoFault(req, () => handlePs(ctx))
  if (path === '/api/show' && req.method === 'POST') {
    return withInfoFault(req, async () => {
      const parsed = await readJson(req)
      return parsed.ok ? handleShow(ctx, parsed.body) : ollamaError(400, parsed.message)
    })
  }
  if (path === '/v1/models' && read) return withInfoFault(req, () => handleListModels(ctx))
  if (path.startsWith('/v1/models/') && read) {
    return withInfoFault(req, () => handleGetModel(ctx, decodeURIComponent(path.slice('/v1/models/'.length))))
  }
  return notFound()
}

export function startSimulator(options: SimulatorOptions = {}): SimHandle {
  const names = options.models && options.models.length > 0 ? options.models : DEFAULT_MODELS
  const catalog = createModelCatalog(names)
  const runtime = startModelRuntime()
  let nextId = 0
  const ctx: SimContext = {
    catalog,
    runtime,
    clock: createClock({ speed: options.speed, instant: options.instant }),
    outputTokens: options.outputTokens ?? DEFAULT_OUTPUT_TOKENS,
    answers: options.quality === true ? createAnswerMemory() : undefined,
    nextId: () => ++nextId,
  }
  const deps: Deps = { ctx, stats: createStatsBook(), faults: createFaultQueue(), manage: createModelManager(ctx) }
  const hostname = options.hostname ?? '127.0.0.1'
  const server = Bun.serve({
    port: options.port ?? 0,
    hostname,
    // Hung requests and slow model loads must not be reset by Bun's idle timer.
    idleTimeout: 0,
    development: false,
    fetch: (req) => route(deps, req),
    error: (error) => jsonResponse({ error: error.message }, 500),
  })
  const port = server.port ?? options.port ?? 0
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      runtime.close()
      await server.stop(true)
    })()
    return closing
  }
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    port,
    get models() {
      return catalog.models.map((m) => m.name)
    },
    stats: () => deps.stats.snapshot(),
    close,
    [Symbol.asyncDispose]: close,
  }
}
