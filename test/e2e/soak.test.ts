import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { runSoak } from '../support/soak.ts'
import { until } from '../support/until.ts'

describe('soak', () => {
  test('a few thousand mixed requests with aborts and faults leave nothing in flight and memory bounded', async () => {
    await using sim = startSimulator({ instant: true, outputTokens: 16 })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url, maxConcurrency: 32 }],
      routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
      health: { failureThreshold: 1_000 },
      plugins: fastProbes,
    })
    const warm = await runSoak({ gatewayUrl: gw.url, simUrl: sim.url, requests: 600, concurrency: 16 })
    const result = await runSoak({ gatewayUrl: gw.url, simUrl: sim.url, requests: Number(process.env.SOAK_REQUESTS ?? 3_000), concurrency: 16 })
    await until(() => sim.stats().active === 0, 3_000, 'no active upstream generation')
    await until(() => gw.gateway.deps.health.views().every((b) => b.inFlight === 0), 3_000, 'no in-flight request in the gateway')
    expect(gw.gateway.deps.admission.queued('gpu0')).toBe(0)
    expect(result.byStatus['500'] ?? 0).toBe(0)
    expect(result.byStatus.network ?? 0).toBe(0)
    // Memory after the measured run stays within 64 MiB of where the warm-up run left it.
    expect(result.rssEndMiB - warm.rssEndMiB).toBeLessThan(64)
    console.log(`soak: ${JSON.stringify(result)}`)
  }, 60_000)
})
