/** Admin endpoints: `/health`, `/health/live`, `/router/explain`. */
import { stateBackends } from '../health/state-backends.ts'
import { Hono } from 'hono'
import { InvalidRequestError } from '../errors.ts'
import type { GatewayDeps } from '../pipeline/deps.ts'
import type { PipelineEnv } from '../pipeline/env.ts'
import { type ModelPolicy, checkRequested } from '../pipeline/policy.ts'
import { AUTO_ROUTE, type Target, candidatesFor, classifyRequest, policyOf, resolveTarget, routeFor, routeNames, selectBackend, teamRoute } from '../pipeline/route.ts'
import type { ClientKey } from './auth.ts'
import { TASK_CLASSES } from '../plugin/types.ts'
import { readJsonBody } from '../protocols/body.ts'
import { parseOllama } from '../protocols/ollama/parse.ts'
import { parseOpenAI } from '../protocols/openai/parse.ts'
import { describeError } from './describe-error.ts'
import { classifierVersion } from '../pipeline/learning.ts'

/** Each route's current first choice per class, as `model@backend` (null when nothing can serve it). */
async function routeChoices(deps: GatewayDeps) {
  const out: Record<string, Record<string, string | null>> = {}
  const probe = { protocol: 'openai', operation: 'chat', model: '', messages: [], stream: false, body: {} } as const
  for (const name of routeNames(deps)) {
    const route = routeFor(deps, name)
    if (!route) continue
    const perClass: Record<string, string | null> = {}
    for (const label of TASK_CLASSES) {
      const target = { kind: 'route', name, route } as const
      const classification = { label, confidence: 1, scores: { SIMPLE: 0, MODERATE: 0, COMPLEX: 0 }, reasons: [] }
      try {
        const s = await selectBackend(deps, { ...probe, model: name }, target, classification, candidatesFor(deps, target, classification), AbortSignal.timeout(1_000))
        perClass[label] = `${s.model}@${s.backend}`
      } catch {
        perClass[label] = null
      }
    }
    out[name] = perClass
  }
  return out
}

export async function healthReport(deps: GatewayDeps) {
  const views = deps.health.views()
  const backends = views.map((b) => ({
    name: b.name, kind: b.kind, up: b.up ?? false, latencyMs: b.latencyMs ?? null, models: b.models.map((m) => m.name),
    loaded: b.loaded.map((m) => m.name), circuit: b.circuit, inFlight: b.inFlight, error: deps.health.lastError(b.name) ?? null,
  }))
  const gpus = deps.health.gpus().map((g) => ({
    index: g.index, name: g.name ?? null, memoryUsedMiB: g.memoryUsedMiB ?? null, memoryTotalMiB: g.memoryTotalMiB ?? null,
    utilization: g.utilization ?? null, temperature: g.temperature ?? null,
    backends: views.filter((b) => b.gpus.some((x) => x.index === g.index)).map((b) => b.name),
  }))
  const routes = await routeChoices(deps)
  const routeServes = Object.values(routes).some((perClass) => Object.values(perClass).some((c) => c !== null))
  const anyUp = backends.some((b) => b.up && b.circuit !== 'open' && b.models.length > 0)
  const ok = Object.keys(routes).length > 0 ? routeServes : anyUp
  const learning = deps.learning.last
  return {
    ok,
    body: {
      status: ok ? 'ok' : 'unavailable', backends, gpus, routes, classifier: classifierVersion(deps),
      history: deps.plugins.of('history').map((p) => ({ name: p.name, ...p.instance.state?.() })),
      state: stateBackends(deps),
      ...(learning ? { lastRetrain: { atMs: learning.atMs, trigger: learning.trigger, promoted: learning.promoted, version: learning.version, reason: learning.reason } } : {}),
    },
  }
}

export function createAdminRoutes() {
  const app = new Hono<PipelineEnv>()
  app.get('/health/live', (c) => c.json({ status: 'ok' }))
  app.get('/health', async (c) => {
    const deps = c.get('deps')
    const { ok, body } = await healthReport(deps)
    let detailed = true
    try {
      deps.auth.admin(c.req.raw)
    } catch {
      // Without the admin key only the overall status is shown.
      detailed = false
    }
    return c.json(detailed ? body : { status: body.status }, ok ? 200 : 503)
  })
  app.post('/router/explain', async (c) => {
    const deps = c.get('deps')
    const { policy, key } = explainPolicy(deps, c.req.raw)
    const { json } = await readJsonBody(c.req.raw, deps.config.server.maxBodyBytes)
    if (typeof json.model !== 'string') json.model = 'auto'
    const request = typeof json.prompt === 'string' ? parseOllama('generate', json) : isOllamaChat(json) ? parseOllama('chat', json) : parseOpenAI('chat', json)
    const resolved = explainTarget(deps, request.model)
    const target = resolved.kind === 'route' && key?.team ? { ...resolved, route: teamRoute(key.team, resolved.name, resolved.route) } : resolved
    checkRequested(policy, request.model, target.kind === 'route')
    const classification = target.kind === 'route' ? await classifyRequest(deps, request, target.route, c.req.raw.signal) : undefined
    const candidates = candidatesFor(deps, target, classification, policy)
    let selection: Awaited<ReturnType<typeof selectBackend>> | undefined
    let selectError: string | undefined
    try {
      selection = await selectBackend(deps, request, target, classification, candidates, c.req.raw.signal)
    } catch (error) {
      selectError = describeError(error).message
    }
    return c.json({
      model: selection?.model ?? null, route: target.kind === 'route' ? target.name : null, team: key?.team?.name ?? null,
      class: classification?.label ?? null, confidence: classification?.confidence ?? null,
      scores: classification?.scores ?? null, task: classification?.task ?? null, classifier: classification?.classifier ?? null,
      version: classification?.version ?? classifierVersion(deps)?.version ?? null,
      reasons: [...(classification?.reasons ?? []), ...(candidates.policyNote ? [candidates.policyNote] : []), ...(selection?.reasons ?? []), ...(selectError ? [selectError] : [])],
      candidates: candidates.models, backend: selection?.backend ?? null, fallbacks: selection?.fallbacks ?? [],
    })
  })
  return app
}

/**
 * Explaining needs the admin key, or a client key: then the decision is the one that key would get, filtered by
 * what it may use.
 */
/** The client key's policy and team (a decision as that key would get it), or none for the admin. */
function explainPolicy(deps: GatewayDeps, req: Request): { policy?: ModelPolicy; key?: ClientKey } {
  if (deps.auth.required) {
    try {
      const key = deps.auth.client(req)
      return { policy: policyOf(deps, key), key }
    } catch {
      // Not a client key: the admin key, or nothing, is checked below.
    }
  }
  deps.auth.admin(req)
  return {}
}

/**
 * The target to explain. `auto` with no routes and no discovered models still gets classified (against an empty
 * route), so a prompt can be checked before any model server is up; the selection then says why nothing serves it.
 */
function explainTarget(deps: GatewayDeps, model: string): Target {
  try {
    return resolveTarget(deps, model)
  } catch (error) {
    if (model !== AUTO_ROUTE || deps.config.routes) throw error
    return { kind: 'route', name: AUTO_ROUTE, route: { SIMPLE: [], MODERATE: [], COMPLEX: [], default: 'MODERATE', affinity: true } }
  }
}

function isOllamaChat(json: Record<string, unknown>): boolean {
  if (!Array.isArray(json.messages)) throw new InvalidRequestError('send a chat body with `messages` (OpenAI or Ollama) or an Ollama generate body with `prompt`')
  const stringContent = (m: unknown) => {
    const content = m && typeof m === 'object' ? (m as { content?: unknown }).content : null
    return typeof content === 'string' || content === undefined
  }
  return 'options' in json || json.messages.every(stringContent)
}
