/** createGateway(config, registry): the Hono app, plugins, health and probes of one config, swappable on reload. */
import { resolve } from 'node:path'
import type { Server } from 'bun'
import { Hono, type MiddlewareHandler } from 'hono'
import type { LoadedConfig } from './config/load.ts'
import { type Admission, createAdmission } from './health/admission.ts'
import { createPassiveHealth } from './health/passive.ts'
import { type ProbeScheduler, startProbeScheduler } from './health/scheduler.ts'
import { type Prewarm, startPrewarm } from './health/prewarm.ts'
import { createHealthStore } from './health/state.ts'
import { stateBackends, watchStateBackends } from './health/state-backends.ts'
import { createAdminRoutes } from './http/admin.ts'
import { type Auth, createAuth } from './http/auth.ts'
import { createRedisBuckets } from './http/rate-limit.ts'
import { ConfigError, messageOf } from './errors.ts'
import { describeError, ollamaErrorBody, openAIErrorBody } from './http/describe-error.ts'
import { finishRequest, startRequestSpan, traceRequest } from './http/trace-request.ts'
import { createLogger } from './log.ts'
import { createBoundedMap } from './pipeline/bounded-map.ts'
import type { GatewayDeps } from './pipeline/deps.ts'
import type { PipelineEnv } from './pipeline/env.ts'
import { watchBody } from './pipeline/body-end.ts'
import { recordDecision } from './pipeline/history.ts'
import { type LearningState, adoptSharedVersions, createLearningState } from './pipeline/learning.ts'
import { createLearningRoutes } from './http/learning.ts'
import { type Pipeline, RequestContext, pathOf, runStages } from './pipeline/context.ts'
import { headerSafe } from './pipeline/stages.ts'
import { KeptState, addRouteAuditors, resolvePlugins, setupPlugins } from './plugin/load.ts'
import { backendHeaders } from './pipeline/upstream.ts'
import { type GatewayInfo, type Logger, type PipelineEvent, type PluginDefinition, isFinalEvent } from './plugin/types.ts'
import { createOllamaRoutes, ollamaPipelines } from './protocols/ollama/routes.ts'
import { createOpenAIRoutes, openAIPipelines } from './protocols/openai/routes.ts'

export interface Gateway {
  fetch(req: Request, server?: Server<undefined>): Response | Promise<Response>
  /** The current generation's deps (config, plugins, health). */
  readonly deps: GatewayDeps
  /** Validate and swap in a new config; on error the old one keeps serving and the error is thrown. */
  reload(next: LoadedConfig): Promise<void>
  /** Run every probe now. */
  refresh(): Promise<void>
  close(): Promise<void>
}

interface Generation {
  readonly deps: GatewayDeps
  readonly probes: ProbeScheduler
  readonly prewarm: Prewarm
  readonly stopStateWatch: () => void
  inFlight: number
  retired?: () => void
}

export interface GatewayOptions {
  /** Wait at most this long at startup for the first probe round (model discovery). */
  readonly firstProbeWaitMs?: number
  readonly log?: Logger
  /** Reads the config again and reloads (what SIGHUP does); enables `POST /router/reload`. */
  readonly reloadFromSource?: () => Promise<void>
}

function createEmitter(deps: () => GatewayDeps, log: Logger) {
  const failed = new Set<string>()
  return (event: PipelineEvent) => {
    if (isFinalEvent(event)) recordDecision(deps(), event)
    for (const plugin of deps().plugins.of('telemetry')) {
      try {
        plugin.instance.observe?.(event)
      } catch (error) {
        if (!failed.has(plugin.name)) log.warn('telemetry plugin failed; further failures not logged', { plugin: plugin.name, error: String(error) })
        failed.add(plugin.name)
      }
    }
  }
}

/** Where plugins keep state: the config's `stateDir` (relative to the config file), `$SWITCHYARD_STATE_DIR`, else the config file's directory. */
export function stateDirOf({ config, baseDir }: LoadedConfig): string {
  const dir = config.stateDir ?? process.env.SWITCHYARD_STATE_DIR
  return dir ? resolve(baseDir, dir) : baseDir
}

async function createGeneration(
  loaded: LoadedConfig,
  builtins: ReadonlyMap<string, PluginDefinition>,
  options: GatewayOptions,
  admission: Admission,
  kept: KeptState,
  learning: LearningState,
): Promise<Generation> {
  const { config, baseDir } = loaded
  const log = options.log ?? createLogger('gateway')
  const resolved = addRouteAuditors(await resolvePlugins(config.plugins, builtins, baseDir), config, builtins)
  const gateway: GatewayInfo = {
    backends: config.backends.map((b) => ({
      name: b.name, kind: b.kind, url: b.url, gpu: b.gpu,
      headers: backendHeaders(b),
    })),
    // Read at scrape time, after the store and the plugins below exist.
    health: () => ({
      backends: health.views(), gpus: health.gpus(), state: stateBackends({ auth, plugins }),
      history: plugins.of('history').flatMap((p) => {
        const s = p.instance.state?.()
        return s ? [{ name: p.name, pending: s.pending, dropped: s.dropped }] : []
      }),
    }),
    counters: () => plugins.of('telemetry').flatMap((p) => p.instance.counters?.() ?? []),
    costPerGpuHour: config.costPerGpuHour,
  }
  let auth: Auth
  try {
    auth = createAuth(config.auth, { buckets: config.auth.redis ? createRedisBuckets(config.auth.redis, log) : undefined })
  } catch (error) {
    throw new ConfigError([messageOf(error)])
  }
  const keep = kept.generation()
  const plugins = await setupPlugins(resolved, gateway, baseDir, keep, stateDirOf(loaded))
  const health = createHealthStore(config, createPassiveHealth(log, config.health))
  let deps: GatewayDeps
  const emit = createEmitter(() => deps, log)
  deps = { config, plugins, health, admission, auth, log, classifications: createBoundedMap(10_000), emit, learning, stateDir: stateDirOf(loaded), refresh: () => probes.refresh() }
  const probes = startProbeScheduler(plugins.of('probe'), health, log)
  const waitMs = options.firstProbeWaitMs ?? 3_000
  await Promise.race([probes.firstRound, Bun.sleep(waitMs)])
  const prewarm = startPrewarm(config, health, log)
  // This generation serves next (the caller swaps it in at once): state only older ones asked for can go.
  keep.commit()
  const stopStateWatch = watchStateBackends(() => stateBackends(deps), log)
  adoptSharedVersions(deps)
  return { deps, probes, prewarm, stopStateWatch, inFlight: 0 }
}

async function retire(gen: Generation): Promise<void> {
  if (gen.inFlight > 0) await new Promise<void>((resolve) => (gen.retired = resolve))
  gen.probes.close()
  gen.prewarm.close()
  gen.stopStateWatch()
  gen.deps.auth.close()
  await gen.deps.plugins.close()
}

/** The generation routes, served without Hono (see src/pipeline/context.ts). */
const pipelines = new Map<string, Pipeline>(Object.entries({ ...openAIPipelines, ...ollamaPipelines }))

/** A request keeps the generation it started with, across a reload, until its body is sent. */
function enter(gen: Generation, req: Request, server: Server<undefined> | undefined, route: string | undefined): RequestContext {
  const ctx = new RequestContext(gen.deps, req, server, route)
  gen.inFlight++
  ctx.bodyEnd.add(() => {
    if (--gen.inFlight === 0) gen.retired?.()
  })
  return ctx
}

/** An error in the protocol's own shape: OpenAI's `{error: {...}}` or Ollama's `{"error": "..."}`. */
function errorResponse(ctx: RequestContext, protocol: Pipeline['protocol'], error: unknown): Response {
  ctx.error = error instanceof Error ? error : new Error(String(error))
  const e = describeError(error, ctx.deps.log)
  return Response.json(protocol === 'ollama' ? ollamaErrorBody(e) : openAIErrorBody(e), { status: e.status, headers: e.headers })
}

/** Runs a generation route's stages; an error becomes a response in the route's protocol shape. */
async function runPipeline(ctx: RequestContext, pipeline: Pipeline): Promise<Response> {
  let res: Response
  try {
    res = await runStages(pipeline.stages, ctx)
  } catch (error) {
    res = errorResponse(ctx, pipeline.protocol, error)
  }
  // Every answer to a generation request names its decision, for feedback and for finding it in the history.
  res.headers.set('x-switchyard-request-id', ctx.requestId)
  const team = ctx.clientKey?.team
  if (team) res.headers.set('x-switchyard-team', headerSafe(team.name))
  return res
}

/** Ends the request when its body ends: a relayed stream fires the hooks itself, other streams are watched once. */
function settleBody(ctx: RequestContext, res: Response): Response {
  const relayed = ctx.answer?.relayed
  if (relayed && res.body === relayed) return res
  if (ctx.request?.stream && res.ok && res.body) return watchBody(res, ctx.signal, ctx.bodyEnd)
  ctx.bodyEnd.fire()
  return res
}

/** A generation request without Hono: context, SERVER span, stages, final event, body end. */
async function servePipeline(gen: Generation, pipeline: Pipeline, route: string, req: Request, server: Server<undefined> | undefined): Promise<Response> {
  const ctx = enter(gen, req, server, route)
  startRequestSpan(ctx)
  const res = await runPipeline(ctx, pipeline)
  finishRequest(ctx, res.status)
  return settleBody(ctx, res)
}

/** Runs the generation's `middleware` plugins in config order around the rest (Hono-served requests only). */
const pluginMiddleware: MiddlewareHandler<PipelineEnv> = async function pluginMiddleware(c, next) {
  const middleware = c.get('deps').plugins.of('middleware')
  const run = async (index: number): Promise<void> => {
    const plugin = middleware[index]
    if (!plugin) return next()
    const answered = await plugin.instance.handle(c, () => run(index + 1))
    // A middleware that answers itself (without calling next) returns its response.
    if (answered instanceof Response) c.res = answered
  }
  await run(0)
}

export async function createGateway(loaded: LoadedConfig, builtins: ReadonlyMap<string, PluginDefinition>, options: GatewayOptions = {}): Promise<Gateway> {
  const admission = createAdmission(loaded.config.backends)
  const kept = new KeptState()
  const learning = createLearningState()
  let current = await createGeneration(loaded, builtins, options, admission, kept, learning)
  const app = new Hono<PipelineEnv>()
  app.use('*', async function bindGeneration(c, next) {
    const ctx = enter(current, c.req.raw, c.env, undefined)
    c.set('deps', ctx.deps)
    c.set('ctx', ctx)
    try {
      await next()
    } finally {
      if (ctx.request) {
        // Assigning c.res makes Hono copy the response: only when settling wrapped it.
        const settled = settleBody(ctx, c.res)
        if (settled !== c.res) c.res = settled
      } else if (!c.res.body || !/event-stream|ndjson/.test(c.res.headers.get('content-type') ?? '')) ctx.bodyEnd.fire()
      // Streams served here (plugin endpoints such as the dashboard feed) end the request when they end.
      else c.res = watchBody(c.res, c.req.raw.signal, ctx.bodyEnd)
    }
  })
  app.use('*', traceRequest())
  app.use('*', pluginMiddleware)
  // The generation routes again, for configs with `middleware` plugins (they need Hono's context).
  for (const [route, pipeline] of pipelines) {
    app.post(route, (c) => {
      const ctx = c.get('ctx')
      ctx.route = route
      return runPipeline(ctx, pipeline)
    })
  }
  // Ollama's legacy embeddings endpoint: answered by /api/embed, reshaped to `{"embedding": [...]}`.
  app.post('/api/embeddings', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined
    if (!body || typeof body !== 'object') return c.json({ error: 'request body is not a JSON object' }, 400)
    const { prompt, ...rest } = body
    const inner = new Request(new URL('/api/embed', c.req.url), {
      method: 'POST', headers: c.req.raw.headers, body: JSON.stringify({ ...rest, input: typeof prompt === 'string' ? prompt : '' }),
      signal: c.req.raw.signal,
    })
    const res = await dispatch(inner, c.env)
    if (!res.ok) return res
    const out = (await res.json()) as { embeddings?: number[][] }
    return c.json({ embedding: out.embeddings?.[0] ?? [] }, 200, Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('x-switchyard-'))))
  })
  app.route('/', createOpenAIRoutes())
  app.route('/', createOllamaRoutes())
  app.route('/', createAdminRoutes())
  app.route('/', createLearningRoutes())
  app.all('*', async function pluginRoutes(c, next) {
    // Endpoints served by telemetry plugins of the config this request started with.
    for (const plugin of c.get('deps').plugins.of('telemetry')) {
      for (const route of plugin.instance.routes ?? []) {
        if (route.method !== c.req.method && !(route.method === 'GET' && c.req.method === 'HEAD')) continue
        const matches = route.path.endsWith('*') ? c.req.path.startsWith(route.path.slice(0, -1)) : c.req.path === route.path
        if (!matches) continue
        if (!route.public) c.get('deps').auth.admin(c.req.raw)
        return route.handle(c.req.raw)
      }
    }
    await next()
  })
  app.get('/', (c) => c.text('switchyard is running'))
  app.post('/router/reload', async (c) => {
    c.get('deps').auth.admin(c.req.raw)
    if (!options.reloadFromSource) return c.json({ error: { message: 'reload is not available here', type: 'invalid_request_error', param: null, code: 'not_found' } }, 404)
    try {
      await options.reloadFromSource()
      return c.json({ status: 'reloaded' })
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : [messageOf(error)]
      return c.json({ error: { message: `config rejected; the previous config keeps serving: ${issues.join('; ')}`, type: 'invalid_request_error', param: null, code: 'invalid_config' }, issues }, 400)
    }
  })
  app.notFound((c) => {
    const e = { status: 404, code: 'not_found' as const, message: `no such endpoint: ${c.req.method} ${c.req.path}` }
    return c.json(c.req.path.startsWith('/api/') ? ollamaErrorBody(e) : openAIErrorBody(e), 404)
  })
  app.onError((error, c) => {
    const e = describeError(error, c.get('deps')?.log)
    return c.json(openAIErrorBody(e), e.status as 400, e.headers)
  })
  function dispatch(req: Request, server: Server<undefined> | undefined): Response | Promise<Response> {
    if (req.method === 'POST') {
      const route = pathOf(req.url)
      const pipeline = pipelines.get(route)
      // Without `middleware` plugins a generation request needs nothing from Hono.
      if (pipeline && current.deps.plugins.of('middleware').length === 0) return servePipeline(current, pipeline, route, req, server)
    }
    return app.fetch(req, server)
  }
  return {
    fetch: dispatch,
    get deps() {
      return current.deps
    },
    async reload(next) {
      const gen = await createGeneration(next, builtins, options, admission, kept, learning)
      admission.configure(next.config.backends)
      const old = current
      current = gen
      void retire(old)
    },
    refresh: () => current.probes.refresh(),
    async close() {
      await retire(current)
    },
  }
}
