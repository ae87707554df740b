/**
 * Model policies: what a client key (and its team) may use. A concrete model in the allow-list allows that model; a
 * route in it allows the route. When the list names concrete models, every route the key uses is filtered to them: a
 * class whose candidates are all disallowed goes to the nearest allowed class (up, then down), and only when nothing
 * is allowed is the answer a 403 naming the route, the class and the allowed models.
 */
import type { RouteConfig } from '../config/schema.ts'
import { ForbiddenError } from '../errors.ts'
import { TASK_CLASSES, type TaskClass, classRank } from '../plugin/types.ts'

export interface ModelPolicy {
  /** Who the policy belongs to, for messages: `key alice`, `team ml`. */
  readonly owner: string
  /** What is allowed, for messages. */
  readonly allowed: readonly string[]
  /** The concrete models allowed; undefined when the list names only routes (then any model behind them). */
  readonly models?: ReadonlySet<string>
  /** The routes the list names. */
  readonly routes: ReadonlySet<string>
}

/** The policy of an allow-list; `isRoute` says which names are routes. Undefined (no list) allows everything. */
export function createPolicy(owner: string, allowed: readonly string[] | undefined, isRoute: (name: string) => boolean): ModelPolicy | undefined {
  if (!allowed) return undefined
  const concrete = allowed.filter((m) => !isRoute(m))
  return { owner, allowed, models: concrete.length > 0 ? new Set(concrete) : undefined, routes: new Set(allowed.filter(isRoute)) }
}

/** A route may be used when the list names it, or names concrete models to route among. */
export function allowsRoute(policy: ModelPolicy | undefined, route: string): boolean {
  return !policy || policy.routes.has(route) || policy.models !== undefined
}

/** A model may answer when the list names it, or names only routes (then every model behind them may). */
export function allowsModel(policy: ModelPolicy | undefined, model: string): boolean {
  return !policy?.models || policy.models.has(model)
}

/** Both must allow (a key's own list and its team's). */
export function intersectPolicies(a: ModelPolicy | undefined, b: ModelPolicy | undefined): ModelPolicy | undefined {
  if (!a || !b) return a ?? b
  const models = a.models && b.models ? new Set([...a.models].filter((m) => b.models!.has(m))) : a.models ?? b.models
  const routes = new Set([...a.routes, ...b.routes].filter((r) => allowsRoute(a, r) && allowsRoute(b, r)))
  return { owner: `${a.owner} (${b.owner})`, allowed: [...(models ?? []), ...routes], models, routes }
}

/** A named model or a route the client asked for: 403 when the list does not allow it. */
export function checkRequested(policy: ModelPolicy | undefined, requested: string, isRoute: boolean): void {
  if (!policy) return
  const ok = isRoute ? allowsRoute(policy, requested) : policy.models?.has(requested) === true
  if (!ok) throw new ForbiddenError(`${policy.owner} may not use model "${requested}"; allowed: ${policy.allowed.join(', ') || 'none'}`)
}

export interface PolicyCandidates {
  readonly label: TaskClass
  readonly models: readonly string[]
  /** Why the class changed, for `x-switchyard-reason`. */
  readonly note?: string
}

/**
 * The route's candidates for `label` that the policy allows; when none are, the nearest class with an allowed
 * candidate (one up, one down, two up, ...), said in `note`. Throws 403 when no class of the route has one.
 */
export function routeCandidates(policy: ModelPolicy | undefined, routeName: string, route: RouteConfig, label: TaskClass): PolicyCandidates {
  const allowed = policy?.models
  if (!allowed) return { label, models: route[label] }
  const allowedOf = (c: TaskClass) => route[c].filter((m) => allowed.has(m))
  const own = allowedOf(label)
  if (own.length > 0) return { label, models: own }
  const at = classRank(label)
  for (let step = 1; step < TASK_CLASSES.length; step++) {
    for (const i of [at + step, at - step]) {
      const c = TASK_CLASSES[i]
      if (!c) continue
      const models = allowedOf(c)
      if (models.length > 0) return { label: c, models, note: `policy: no ${label} model of route ${routeName} is allowed for ${policy!.owner}; answered as ${c}` }
    }
  }
  throw new ForbiddenError(
    `${policy!.owner} may not use any model of route "${routeName}" for class ${label}: its candidates are ${TASK_CLASSES.map((c) => `${c}: ${route[c].join(', ') || 'none'}`).join('; ')}; allowed: ${[...allowed].join(', ')}`,
  )
}
