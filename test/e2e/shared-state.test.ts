/** Shared state never degrades silently: /health, switchyard_state_backend and the log say when Redis is away. */
import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'

const ADMIN = { authorization: 'Bearer admin-key-123' }

async function stateOf(url: string): Promise<Record<string, string>> {
  const health = (await fetch(`${url}/health`, { headers: ADMIN }).then((r) => r.json())) as { state: { component: string; mode: string }[] }
  return Object.fromEntries(health.state.map((s) => [s.component, s.mode]))
}

describe('shared state', () => {
  test('rate limits and the cache in Redis report shared, go local (metric, /health, a warning) while Redis is away, and come back', async () => {
    const redis = await startRedis()
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      auth: { adminKey: 'admin-key-123', keys: [{ name: 'team', key: 'team-key-1234', requestsPerMinute: 1_000 }], redis: { url: redis.url } },
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      plugins: [{ use: 'redis-cache', options: { url: redis.url } }, ...fastProbes],
    })
    await until(async () => JSON.stringify(await stateOf(gw.url)) === JSON.stringify({ ratelimit: 'shared', cache: 'shared' }), 3_000, 'both parts shared')
    const metrics = await fetch(`${gw.url}/metrics`, { headers: ADMIN }).then((r) => r.text())
    expect(metrics).toContain('switchyard_state_backend{component="ratelimit",mode="shared"} 1')
    expect(metrics).toContain('switchyard_state_backend{component="ratelimit",mode="local"} 0')
    expect(metrics).toContain('switchyard_state_backend{component="cache",mode="shared"} 1')

    await redis.kill()
    // Requests keep being answered (limits per instance, cache bypassed) and say nothing is wrong to the client.
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', headers: { authorization: 'Bearer team-key-1234' }, body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', stream: false, messages: [{ role: 'user', content: 'hi' }] }) })
    expect(res.status).toBe(200)
    await until(async () => JSON.stringify(await stateOf(gw.url)) === JSON.stringify({ ratelimit: 'local', cache: 'local' }), 10_000, 'both parts local')
    const down = await fetch(`${gw.url}/metrics`, { headers: ADMIN }).then((r) => r.text())
    expect(down).toContain('switchyard_state_backend{component="ratelimit",mode="local"} 1')
    await until(() => gw.logs.some((l) => l.includes('shared state unavailable') && l.includes('ratelimit')), 5_000, 'a warning while local')

    await using back = await startRedis({ port: redis.port })
    expect(back.port).toBe(redis.port)
    await until(async () => JSON.stringify(await stateOf(gw.url)) === JSON.stringify({ ratelimit: 'shared', cache: 'shared' }), 15_000, 'shared again')
    await until(() => gw.logs.some((l) => l.includes('shared state is back')), 5_000, 'the recovery logged')
  }, 40_000)
})
