/** The learning endpoints: `GET /router/history`, `POST /router/feedback`, `POST /router/retrain`, `POST /router/rollback`. */
import { Hono } from 'hono'
import * as v from 'valibot'
import { formatIssue } from '../config/load.ts'
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../errors.ts'
import type { GatewayDeps } from '../pipeline/deps.ts'
import type { PipelineEnv } from '../pipeline/env.ts'
import { type DecisionRecord, TASK_CLASSES, type TaskClass, classAbove, classBelow } from '../plugin/types.ts'
import { readJsonBody } from '../protocols/body.ts'
import { giveFeedback, retrainNow, rollbackNow } from '../pipeline/learning.ts'

const VERDICTS = ['too-weak', 'too-strong', 'good'] as const
type Verdict = (typeof VERDICTS)[number]

const FeedbackBody = v.union([
  v.strictObject({ requestId: v.pipe(v.string(), v.minLength(1)), label: v.picklist(TASK_CLASSES) }),
  v.strictObject({ requestId: v.pipe(v.string(), v.minLength(1)), verdict: v.picklist(VERDICTS) }),
])

/** A feedback body, or a 400 that names the bad field. */
function parseFeedback(json: Record<string, unknown>): { requestId: string; label?: TaskClass; verdict?: Verdict } {
  if (typeof json.requestId !== 'string' || json.requestId === '') throw new InvalidRequestError('requestId: a request id (the x-switchyard-request-id header of the answer) is required')
  if ('label' in json && 'verdict' in json) throw new InvalidRequestError('label, verdict: send one of them, not both')
  if (!('label' in json) && !('verdict' in json)) throw new InvalidRequestError(`label: required (one of ${TASK_CLASSES.join(', ')}), or verdict (one of ${VERDICTS.join(', ')})`)
  const parsed = v.safeParse(FeedbackBody, json)
  if (parsed.success) return parsed.output
  const issue = parsed.issues.flatMap((i) => i.issues ?? [i]).find((i) => i.path?.length) ?? parsed.issues[0]!
  throw new InvalidRequestError(formatIssue(issue))
}

/** The class a verdict means for a decision: one up, one down, or the class it had. */
export function verdictLabel(decision: DecisionRecord, verdict: Verdict): TaskClass {
  if (!decision.label) throw new InvalidRequestError(`verdict: request ${decision.id} named a model and was not routed by class; send a label instead`)
  return verdict === 'too-weak' ? classAbove(decision.label) : verdict === 'too-strong' ? classBelow(decision.label) : decision.label
}

/** The admin, or the client key that made the request; anyone when the gateway has neither kind of key. */
function checkFeedbackAllowed(deps: GatewayDeps, req: Request, decision: DecisionRecord): void {
  const { auth } = deps
  if (auth.adminRequired) {
    try {
      auth.admin(req)
      return
    } catch (error) {
      if (!auth.required) throw error
    }
  }
  const key = auth.client(req)
  if (key && key.name !== decision.client) throw new ForbiddenError('feedback on a request is for the admin or the client key that made it')
}

const Query = v.object({
  limit: v.optional(v.pipe(v.string(), v.transform(Number), v.integer('must be an integer'), v.minValue(1), v.maxValue(1_000)), '100'),
  route: v.optional(v.pipe(v.string(), v.minLength(1))),
  class: v.optional(v.picklist(TASK_CLASSES)),
  client: v.optional(v.pipe(v.string(), v.minLength(1))),
  team: v.optional(v.pipe(v.string(), v.minLength(1))),
  since: v.optional(v.pipe(
    v.string(),
    v.transform((s) => (/^\d+$/.test(s) ? Number(s) : Date.parse(s))),
    v.check((n) => Number.isFinite(n), 'must be a time in ms since the epoch or an ISO date'),
  )),
})

function firstHistory(deps: GatewayDeps) {
  const store = deps.plugins.of('history')[0]
  if (!store) throw new ConflictError('no decision history is configured (plugin kind "history")')
  return store.instance
}

export function createLearningRoutes() {
  const app = new Hono<PipelineEnv>()
  app.get('/router/history', async (c) => {
    const deps = c.get('deps')
    deps.auth.admin(c.req.raw)
    const parsed = v.safeParse(Query, c.req.query())
    if (!parsed.success) throw new InvalidRequestError(parsed.issues.map((i) => formatIssue(i)).join('; '))
    const q = parsed.output
    const decisions = await firstHistory(deps).list({ limit: Number(q.limit), route: q.route, label: q.class, sinceMs: q.since, client: q.client, team: q.team })
    // Feature vectors are for retraining, not for reading.
    return c.json({ decisions: decisions.map(({ features: _features, ...rest }) => rest) })
  })
  app.post('/router/feedback', async (c) => {
    const deps = c.get('deps')
    const { json } = await readJsonBody(c.req.raw, deps.config.server.maxBodyBytes)
    const body = parseFeedback(json)
    const history = firstHistory(deps)
    const decision = await history.get(body.requestId)
    // Who may see a decision is checked before whether it exists only when there is nothing to compare with.
    if (!decision) {
      if (deps.auth.adminRequired && !deps.auth.required) deps.auth.admin(c.req.raw)
      throw new NotFoundError(`no recorded request with id "${body.requestId}"`)
    }
    checkFeedbackAllowed(deps, c.req.raw, decision)
    const label = body.label ?? verdictLabel(decision, body.verdict!)
    await giveFeedback(deps, decision.id, label, body.label ? 'feedback' : 'verdict')
    return c.json({ requestId: decision.id, label, recorded: true })
  })
  app.post('/router/retrain', async (c) => {
    const deps = c.get('deps')
    deps.auth.admin(c.req.raw)
    return c.json(await retrainNow(deps, c.req.raw.signal))
  })
  app.post('/router/rollback', async (c) => {
    const deps = c.get('deps')
    deps.auth.admin(c.req.raw)
    return c.json(await rollbackNow(deps))
  })
  return app
}

