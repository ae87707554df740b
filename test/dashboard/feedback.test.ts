/**
 * What the dashboard's feedback buttons and History tab rely on from the core: the request id header, and the
 * feedback and history endpoints accepting the page's admin cookie. Needs `x-switchyard-request-id`,
 * `POST /router/feedback` and `GET /router/history`.
 */
import { describe, expect, test } from 'bun:test'
import { until } from '../support/until.ts'
import { startTwoBackends } from './setup.ts'

const ADMIN_KEY = 'dashboard-admin-key'
const COOKIE = { cookie: `switchyard_admin=${ADMIN_KEY}` }

describe('dashboard feedback (needs the core endpoints)', () => {
  test('a feed decision carries the id the answer sent in x-switchyard-request-id', async () => {
    await using env = await startTwoBackends()
    const res = await env.ask('add a docstring to this function')
    const id = res.headers.get('x-switchyard-request-id')
    expect(id).toBeTruthy()
    const state = await (await fetch(`${env.gw.url}/dashboard/state`)).json()
    expect(state.decisions[0]).toMatchObject({ id, class: 'SIMPLE' })
  })

  test('with an admin key, the dashboard cookie records a verdict and reads it back from the history', async () => {
    await using env = await startTwoBackends({ adminKey: ADMIN_KEY })
    const id = (await env.ask('add a docstring to this function')).headers.get('x-switchyard-request-id')!
    const post = (headers: Record<string, string>) =>
      fetch(`${env.gw.url}/router/feedback`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ requestId: id, verdict: 'too-weak' }),
      })

    const anonymous = await post({})
    expect([401, 403]).toContain(anonymous.status)
    await anonymous.text()

    const res = await post(COOKIE)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ requestId: id, label: 'MODERATE', recorded: true })

    const history = async () => {
      const r = await fetch(`${env.gw.url}/router/history?class=SIMPLE&limit=1000&since=${Date.now() - 60_000}`, { headers: COOKIE })
      expect(r.status).toBe(200)
      return ((await r.json()) as { decisions: { id: string; feedback: unknown }[] }).decisions.find((d) => d.id === id)
    }
    let decision: Awaited<ReturnType<typeof history>>
    await until(async () => (decision = await history())?.feedback != null, 2_000, 'the verdict in /router/history')
    expect(decision!).toMatchObject({ route: 'auto', label: 'SIMPLE', model: 'qwen2.5-coder:1.5b', feedback: { label: 'MODERATE', source: 'verdict' } })
  })

  test('feedback on an id the gateway never answered is a 404 the page can show', async () => {
    await using env = await startTwoBackends({ adminKey: ADMIN_KEY })
    const res = await fetch(`${env.gw.url}/router/feedback`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...COOKIE }, body: JSON.stringify({ requestId: 'no-such-request', verdict: 'too-weak' }),
    })
    expect(res.status).toBe(404)
    const body = (await res.json()) as { error: { message: string } }
    expect(body.error.message).toContain('no-such-request')
  })
})
