/** GPU time per generation and routing's net savings, from the simulator's Ollama timings, through /metrics. */
import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

const SMALL = 'qwen2.5-coder:1.5b'
const HUGE = 'deepseek-coder:33b'
const LONG = `Refactor this module. ${'The scheduler keeps a queue of jobs and retries failed ones with backoff. '.repeat(60)}`

/** The value of one series in the exposition text; 0 when absent. */
function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

async function savingsGateway(extra: Record<string, unknown> = {}, kind: 'ollama' | 'openai' = 'ollama') {
  const sim = startSimulator({ instant: true })
  const gw = await startGateway({
    backends: [{ name: 'gpu0', kind, url: sim.url }],
    routes: { auto: { SIMPLE: [SMALL], COMPLEX: [HUGE] } },
    plugins: [{ use: './plugins/examples/length-classifier.ts' }, { use: './test/fixtures/plugins/verdict-auditor.ts' }, ...fastProbes],
    ...extra,
  })
  await until(async () => ((await fetch(`${gw.url}/v1/models`).then((r) => r.json())) as { data: unknown[] }).data.length >= 2, 3_000, 'models discovered')
  return { gw, sim, async [Symbol.asyncDispose]() { await gw.close(); await sim.close() } }
}

const ask = async (url: string, content: string, model = 'auto') => {
  const res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content }] }) })
  return (await res.json()) as { model: string; prompt_eval_duration: number; eval_duration: number; prompt_eval_count: number; eval_count: number }
}

describe('GPU time and savings', () => {
  test("a small model's answer saves what the largest model would have spent on the same tokens; money at costPerGpuHour", async () => {
    await using t = await savingsGateway({ costPerGpuHour: 3.6 })
    // The largest model's speed, learned from its own answer (Ollama's timings).
    const big = await ask(t.gw.url, LONG)
    expect(big.model).toBe(HUGE)
    const small = await ask(t.gw.url, 'add a docstring')
    expect(small.model).toBe(SMALL)
    const metrics = await fetch(`${t.gw.url}/metrics`).then((r) => r.text())
    const smallSeconds = (small.prompt_eval_duration + small.eval_duration) / 1e9
    const bigSeconds = (big.prompt_eval_duration + big.eval_duration) / 1e9
    expect(sample(metrics, `switchyard_gpu_seconds_total{model="${SMALL}",backend="gpu0",team="none"}`)).toBeCloseTo(smallSeconds, 6)
    expect(sample(metrics, `switchyard_gpu_seconds_total{model="${HUGE}",backend="gpu0",team="none"}`)).toBeCloseTo(bigSeconds, 6)
    // The counterfactual: the small answer's tokens at the large model's observed per-token speeds.
    const counterfactual = (small.prompt_eval_count * big.prompt_eval_duration) / big.prompt_eval_count / 1e9 + (small.eval_count * big.eval_duration) / big.eval_count / 1e9
    const saved = sample(metrics, 'switchyard_gpu_seconds_saved_total{route="auto"}')
    expect(saved).toBeCloseTo(counterfactual - smallSeconds, 6)
    expect(saved).toBeGreaterThan(0)
    expect(sample(metrics, 'switchyard_cost_saved_total{route="auto"}')).toBeCloseTo(saved * 0.001, 9)
    expect(sample(metrics, 'switchyard_gpu_seconds_overspent_total{route="auto"}')).toBe(0)
  })

  test('an escalated request costs more than the largest model alone: overspent, and the rejected draft is wasted', async () => {
    await using t = await savingsGateway({ routes: { auto: { SIMPLE: [SMALL], COMPLEX: [HUGE], escalate: { auditor: 'verdict-auditor', classes: ['SIMPLE'] } } } })
    const res = await fetch(`${t.gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi [fail-draft]' }] }) })
    expect(res.headers.get('x-switchyard-escalated')).toBe(`${SMALL} -> ${HUGE}`)
    await res.text()
    const metrics = await fetch(`${t.gw.url}/metrics`).then((r) => r.text())
    const wasted = sample(metrics, 'switchyard_gpu_seconds_wasted_total{route="auto",reason="rejected_draft"}')
    expect(wasted).toBeGreaterThan(0)
    // Answered by the largest model: the counterfactual is its own time, so the draft is the whole overspend.
    expect(sample(metrics, 'switchyard_gpu_seconds_overspent_total{route="auto"}')).toBeCloseTo(wasted, 9)
    expect(sample(metrics, 'switchyard_gpu_seconds_saved_total{route="auto"}')).toBe(0)
  })

  test('named-model requests count GPU time but no savings; an OpenAI-kind backend is timed by its observed speed', async () => {
    await using t = await savingsGateway({}, 'openai')
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${t.gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: SMALL, stream: true, messages: [{ role: 'user', content: `hello ${i}` }] }) })
      await res.text()
    }
    const metrics = await fetch(`${t.gw.url}/metrics`).then((r) => r.text())
    expect(sample(metrics, `switchyard_gpu_seconds_total{model="${SMALL}",backend="gpu0",team="none"}`)).toBeGreaterThan(0)
    expect(metrics).not.toContain('switchyard_gpu_seconds_saved_total{')
  })

  test('an auditor the config names but no plugin provides is a config error naming the route', async () => {
    const sim = startSimulator({ instant: true })
    try {
      const failed = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes: { auto: { SIMPLE: [SMALL], COMPLEX: [HUGE], escalate: { auditor: 'nope' } } } }).then(
        async (gw) => (await gw.close(), undefined),
        (error: unknown) => error,
      )
      expect(String((failed as { issues?: string[] }).issues)).toContain('routes.auto.escalate.auditor: no auditor plugin "nope"; auditors: heuristic-auditor, llm-auditor')
    } finally {
      await sim.close()
    }
  })
})
