/** The routing decision: resolve the model or route, classify (virtual models only), select a backend. */
import type { RouteConfig, TeamConfig } from '../config/schema.ts'
import { ModelNotFoundError, NoBackendError, messageOf } from '../errors.ts'
import { requestText } from '../plugin/text.ts'
import { type BackendView, type ChatRequest, type Classification, type Selection, TASK_CLASSES, type TaskClass } from '../plugin/types.ts'
import { buildAutoRoute } from './auto-tier.ts'
import { withDeadline } from './deadlines.ts'
import { type ModelPolicy, allowsModel, createPolicy, intersectPolicies, routeCandidates } from './policy.ts'
import type { GatewayDeps } from './deps.ts'

export const CLASSIFY_DEADLINE_MS = 5_000
export const AUTO_ROUTE = 'auto'

export type Target =
  | { readonly kind: 'route'; readonly name: string; readonly route: RouteConfig }
  | { readonly kind: 'model'; readonly model: string }

/** Auto routes and model lists, rebuilt only when the discovered model list changes (keyed by its array). */
const autoRoutes = new WeakMap<readonly string[], RouteConfig | null>()
const knownLists = new WeakMap<readonly string[], string[]>()

function autoRoute(deps: GatewayDeps): RouteConfig | undefined {
  const names = deps.health.modelNames()
  let route = autoRoutes.get(names)
  if (route === undefined) {
    route = buildAutoRoute(deps.health.views())?.route ?? null
    autoRoutes.set(names, route)
  }
  return route ?? undefined
}

export function routeFor(deps: GatewayDeps, name: string): RouteConfig | undefined {
  const routes = deps.config.routes
  // Own keys only: a model named `constructor` or `toString` is not a route.
  if (routes) return Object.hasOwn(routes, name) ? routes[name] : undefined
  return name === AUTO_ROUTE ? autoRoute(deps) : undefined
}

export function routeNames(deps: GatewayDeps): string[] {
  if (deps.config.routes) return Object.keys(deps.config.routes)
  return autoRoute(deps) ? [AUTO_ROUTE] : []
}

export function knownModels(deps: GatewayDeps): string[] {
  const discovered = deps.health.modelNames()
  let known = knownLists.get(discovered)
  if (!known) {
    const names = new Set(discovered)
    for (const name of Object.keys(deps.config.models ?? {})) names.add(name)
    known = [...names].sort()
    knownLists.set(discovered, known)
  }
  return known
}

/** The other spelling of a model name as Ollama reads them: `llama3.2` <-> `llama3.2:latest`. */
export function latestAlias(name: string): string {
  return name.endsWith(':latest') ? name.slice(0, -':latest'.length) : `${name}:latest`
}

/** A named model or a route; `llama3.2` also matches `llama3.2:latest` (and back), as Ollama does. */
export function resolveTarget(deps: GatewayDeps, requested: string): Target {
  const route = routeFor(deps, requested)
  if (route) return { kind: 'route', name: requested, route }
  const known = knownModels(deps)
  if (known.includes(requested)) return { kind: 'model', model: requested }
  const alias = latestAlias(requested)
  if (known.includes(alias)) return { kind: 'model', model: alias }
  throw new ModelNotFoundError(requested, [...known, ...routeNames(deps)])
}

function fallbackClass(label: TaskClass, reason: string): Classification {
  const scores = { SIMPLE: 0, MODERATE: 0, COMPLEX: 0, [label]: 1 }
  return { label, confidence: 0, scores, reasons: [reason], classifier: 'default' }
}

/** Every classifier runs; the most confident answer wins. A failing one is skipped and named in the reasons. */
export async function classifyRequest(deps: GatewayDeps, request: ChatRequest, route: RouteConfig, signal: AbortSignal): Promise<Classification> {
  const classifiers = deps.plugins.of('classifier')
  if (classifiers.length === 0) return fallbackClass(route.default, 'no classifier configured; route default class')
  const key = `${Bun.hash(requestText(request))}:${request.messages.length}`
  const memo = deps.classifications.get(key)
  if (memo) return memo
  const failures: string[] = []
  let best: Classification | undefined
  for (const plugin of classifiers) {
    try {
      const answer = plugin.instance.classify(request, signal)
      // A synchronous answer needs no deadline race (and no timer).
      const result = answer instanceof Promise ? await withDeadline(() => answer, CLASSIFY_DEADLINE_MS, signal) : answer
      const named = result.classifier ? result : { ...result, classifier: plugin.name }
      if (!best || named.confidence > best.confidence) best = named
    } catch (error) {
      if (signal.aborted) throw error
      const message = messageOf(error)
      failures.push(`${plugin.name} failed (${message})`)
      deps.log.warn('classifier failed', { plugin: plugin.name, error: message })
    }
  }
  const result = best
    ? failures.length ? { ...best, reasons: [...best.reasons, ...failures] } : best
    : fallbackClass(route.default, `${failures.join('; ')}; route default class ${route.default}`)
  if (failures.length === 0) deps.classifications.set(key, result)
  return route.bias ? applyRouteBias(result, route.bias) : result
}

/** Shift the class scores by the route's bias (as log-odds) and pick the label again; says so when it changes. */
export function applyRouteBias(c: Classification, bias: NonNullable<RouteConfig['bias']>): Classification {
  const total = TASK_CLASSES.reduce((sum, label) => sum + c.scores[label], 0)
  if (total <= 0) return c
  const weighted = TASK_CLASSES.map((label) => (c.scores[label] / total) * Math.exp(bias[label] ?? 0))
  const sum = weighted.reduce((a, b) => a + b, 0)
  const scores = { SIMPLE: (weighted[0] ?? 0) / sum, MODERATE: (weighted[1] ?? 0) / sum, COMPLEX: (weighted[2] ?? 0) / sum }
  const label = TASK_CLASSES.reduce((a, b) => (scores[b] > scores[a] ? b : a))
  if (label === c.label) return { ...c, scores, confidence: scores[label] }
  return { ...c, label, scores, confidence: scores[label], reasons: [...c.reasons, `route bias moved ${c.label} to ${label}`] }
}

export interface Candidates {
  readonly models: readonly string[]
  /** Models other than the one named, allowed by `models.<name>.fallbacks`. */
  readonly substitutes: readonly string[]
  /** Why the client's model policy moved the request to another class, for `x-switchyard-reason`. */
  readonly policyNote?: string
}

/** The models that may answer: the route's for the class, or the named model and its fallbacks; only those the client's policy allows. */
export function candidatesFor(deps: GatewayDeps, target: Target, classification: Classification | undefined, policy?: ModelPolicy): Candidates {
  if (target.kind === 'route') {
    const chosen = routeCandidates(policy, target.name, target.route, classification?.label ?? target.route.default)
    return { models: chosen.models, substitutes: [], policyNote: chosen.note }
  }
  const substitutes = (deps.config.models?.[target.model]?.fallbacks ?? []).filter((m) => allowsModel(policy, m))
  return { models: [target.model, ...substitutes], substitutes }
}

/** Policies by allow-list: a key's list comes from one config, so its policy is built once, not per request. */
const policies = new WeakMap<readonly string[], ModelPolicy | undefined>()
/** A key's list met with its team's, per pair of lists. */
const combined = new WeakMap<readonly string[], WeakMap<readonly string[], ModelPolicy | undefined>>()

function listPolicy(deps: GatewayDeps, owner: string, list: readonly string[]): ModelPolicy | undefined {
  if (policies.has(list)) return policies.get(list)
  // Route names are the config's; without routes the only one is the `auto` route built from discovered models.
  const { routes } = deps.config
  const policy = createPolicy(owner, list, (name) => (routes ? Object.hasOwn(routes, name) : name === AUTO_ROUTE))
  policies.set(list, policy)
  return policy
}

/** What the client key may use: its `models` list and its team's (both must allow), or undefined when neither has one. */
export function policyOf(deps: GatewayDeps, key: { readonly name: string; readonly models?: readonly string[]; readonly team?: { readonly name: string; readonly config: { readonly models?: readonly string[] } } } | undefined): ModelPolicy | undefined {
  const own = key?.models
  const team = key?.team?.config.models
  if (!team) return own ? listPolicy(deps, key!.name, own) : undefined
  const teamPolicy = listPolicy(deps, `team ${key!.team!.name}`, team)
  if (!own) return teamPolicy
  let byTeam = combined.get(own)
  if (!byTeam) combined.set(own, (byTeam = new WeakMap()))
  if (!byTeam.has(team)) byTeam.set(team, intersectPolicies(listPolicy(deps, key!.name, own), teamPolicy))
  return byTeam.get(team)
}

/** Team routes by team config and route: the route with the team's candidates and bias merged in. */
const teamRoutes = new WeakMap<object, Map<string, RouteConfig>>()

/** The route as `team` sees it: its own candidates for the classes it overrides, its bias added to the route's. */
export function teamRoute(team: { readonly config: TeamConfig } | undefined, name: string, route: RouteConfig): RouteConfig {
  const config = team?.config
  if (!config || (!config.routes?.[name] && !config.bias)) return route
  let byName = teamRoutes.get(config)
  if (!byName) teamRoutes.set(config, (byName = new Map()))
  let merged = byName.get(name)
  if (!merged) {
    const override = Object.hasOwn(config.routes ?? {}, name) ? config.routes![name] : undefined
    const bias = config.bias ? Object.fromEntries(TASK_CLASSES.map((c) => [c, (route.bias?.[c] ?? 0) + (config.bias?.[c] ?? 0)])) : route.bias
    merged = { ...route, ...override, bias }
    byName.set(name, merged)
  }
  return merged
}

/** Ask selectors in config order; the first answer wins. None -> 503 naming why. */
export async function selectBackend(
  deps: GatewayDeps,
  request: ChatRequest,
  target: Target,
  classification: Classification | undefined,
  candidates: Candidates,
  signal: AbortSignal,
  /** Only these backends (a second backend for a parallel generation); default: every backend. */
  among?: readonly BackendView[],
): Promise<Selection> {
  const backends = among ?? deps.health.views()
  const input = { request, route: target.kind === 'route' ? target.name : undefined, classification, candidates: candidates.models, backends }
  for (const plugin of deps.plugins.of('selector')) {
    try {
      const selection = await plugin.instance.select(input, signal)
      if (selection) return selection
    } catch (error) {
      if (signal.aborted) throw error
      deps.log.warn('selector failed', { plugin: plugin.name, error: messageOf(error) })
    }
  }
  const why = backends.map((b) => `${b.name}: ${b.up === false ? `down${deps.health.lastError(b.name) ? ` (${deps.health.lastError(b.name)})` : ''}` : b.circuit === 'open' ? 'circuit open' : 'does not serve these models'}`)
  throw new NoBackendError(`no healthy backend serves ${candidates.models.join(', ') || 'any candidate model'}; ${why.join('; ')}`)
}
