/**
 * Every PromQL expression in deploy/grafana/switchyard.json and deploy/prometheus/rules.yaml returns data from a real
 * Prometheus scraping a gateway under simulated traffic on 127.0.0.1.
 *
 * How: the gateway runs over three simulators and a fake nvidia-smi (two GPUs); its `auto` route checks SIMPLE drafts
 * (escalate, with the fixture auditor that fails a prompt containing `[fail-draft]`), `costPerGpuHour` prices GPU
 * time, and a redis-cache points at a Redis that is not running, so the cache's shared state is local. Before
 * Prometheus starts, one request is refused with 429 (a backend at maxConcurrency 1 with no queue), one fails with
 * 502, one asks for an unknown model, and one is answered by the route's largest model, so the error and rejection
 * series exist and that model's speed is known. Prometheus (scrape and rule evaluation every 1 s, the repo's rules
 * loaded) then scrapes while each poll sends another round of traffic (auto requests in two classes, a draft that
 * passes its audit and one that fails and escalates to the largest model, a cacheable request) and queries every
 * expression still without data through /api/v1/query, until all have some.
 * - rate() needs two samples in its window, so a non-empty answer means at least two scrapes happened.
 * - Grafana's `$__rate_interval` and `$__range` become fixed windows (30s, 5m).
 * - Alert expressions are thresholds that are false in a healthy run (backend down, circuit open, error share above
 *   5%...): the trailing comparison is stripped and the value underneath must have data.
 * - Series no run of this test produces: gpu_seconds_wasted_total{reason="cancelled"} (parallel mode) and {reason="checks"}
 *   (an LLM classifier or judge); the panel sums by reason, so the rejected drafts give it data.
 * - Every rule must also load and evaluate in Prometheus with health "ok".
 */
import { expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { freePort } from '../support/ports.ts'
import { until } from '../support/until.ts'

const ROOT = resolve(import.meta.dir, '../..')
const RULES = join(ROOT, 'deploy/prometheus/rules.yaml')
const DASHBOARD = join(ROOT, 'deploy/grafana/switchyard.json')
const GRAFANA_WINDOWS: Record<string, string> = { $__rate_interval: '30s', $__range: '5m' }
/** Fails a draft whose prompt contains `[fail-draft]`, passes the others. */
const AUDITOR = join(ROOT, 'test/fixtures/plugins/verdict-auditor.ts')
/** Prompts under 200 characters are SIMPLE, longer ones MODERATE. */
const CLASSIFIER = join(ROOT, 'plugins/examples/length-classifier.ts')
const MODERATE_PROMPT = 'refactor this distributed design for concurrency, keeping every public interface as it is. '.repeat(3)
const THRESHOLD = /\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/i

interface Expression {
  readonly source: string
  readonly expr: string
}

function dashboardExpressions(): Expression[] {
  // A row panel has no targets.
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] }
  return dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ source: `panel "${p.title}"`, expr: t.expr.replace(/\$__\w+/g, (v) => GRAFANA_WINDOWS[v] ?? v) })),
  )
}

function ruleExpressions(): Expression[] {
  const file = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }
  return file.groups.flatMap((g) => g.rules).map((r) => {
    const expr = r.expr.trim()
    // Each rule is `value <op> threshold`; what must exist is the value.
    expect(expr).toMatch(THRESHOLD)
    return { source: `alert ${r.alert}`, expr: expr.replace(THRESHOLD, '') }
  })
}

async function startPrometheus(target: string) {
  const binary = Bun.which('prometheus')
  if (!binary) throw new Error('prometheus not found on PATH: install the Debian/Ubuntu package "prometheus" (apt-get install -y prometheus); scripts/ensure-test-deps.sh does this')
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'))
  const config = join(dir, 'prometheus.yml')
  // JSON is YAML.
  writeFileSync(config, JSON.stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [RULES],
    scrape_configs: [{ job_name: 'switchyard', static_configs: [{ targets: [target] }] }],
  }))
  const port = freePort()
  const logPath = join(dir, 'prometheus.log')
  const proc = Bun.spawn(
    [binary, `--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--log.level=warn'],
    { stdout: 'ignore', stderr: Bun.file(logPath) },
  )
  const url = `http://127.0.0.1:${port}`
  const handle = {
    url,
    async [Symbol.asyncDispose]() {
      proc.kill()
      await proc.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await until(async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}: ${readFileSync(logPath, 'utf8')}`)
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ?? false
    }, 10_000, 'prometheus to be ready')
  } catch (error) {
    await handle[Symbol.asyncDispose]()
    throw error
  }
  return handle
}

/** The instant-query result; a query Prometheus rejects fails the test with its error. */
async function query(prometheus: string, { source, expr }: Expression): Promise<unknown[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } }
  if (body.status !== 'success') throw new Error(`${source}: Prometheus rejected ${expr}: ${body.error}`)
  return body.data?.result ?? []
}

async function fakeNvidiaSmi(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-smi-'))
  const script = join(dir, 'nvidia-smi')
  writeFileSync(script, `#!/bin/sh\nexec cat '${resolve(ROOT, 'test/fixtures/nvidia-smi/two-gpus-one-busy.csv')}'\n`)
  chmodSync(script, 0o755)
  return script
}

test('every dashboard panel and alert expression returns data from a Prometheus scraping a gateway under traffic', async () => {
  const expressions = [...dashboardExpressions(), ...ruleExpressions()]
  for (const { source, expr } of expressions) expect(`${source}: ${expr}`).not.toContain('$')

  await using small = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
  await using big = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
  await using narrow = startSimulator({ instant: true, models: ['qwen2.5-coder:3b'] })
  await using gw = await startGateway({
    backends: [
      { name: 'small', kind: 'ollama', url: small.url, gpu: 0 },
      { name: 'big', kind: 'ollama', url: big.url, gpu: 1 },
      { name: 'narrow', kind: 'ollama', url: narrow.url, maxConcurrency: 1, maxQueue: 0 },
    ],
    routes: {
      auto: {
        SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['qwen2.5-coder:7b'],
        escalate: { auditor: 'verdict-auditor', classes: ['SIMPLE'] },
      },
    },
    costPerGpuHour: 2.5,
    plugins: [
      ...fastProbes,
      { use: 'nvidia-smi-probe', options: { binary: await fakeNvidiaSmi(), intervalMs: 200 } },
      { use: CLASSIFIER },
      { use: AUDITOR },
      { use: 'memory-cache' },
      // Nothing listens on this port: the cache component runs local, the state SwitchyardSharedStateLocal watches.
      { use: 'redis-cache', options: { url: `redis://127.0.0.1:${freePort()}` } },
      { use: 'prometheus' },
    ],
  })
  await until(() => gw.gateway.deps.health.gpus().length === 2, 3_000, 'GPUs from the fake nvidia-smi')
  const post = async (body: Record<string, unknown>, signal?: AbortSignal) => {
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ stream: false, ...body }), signal })
    await res.text()
    return res.status
  }
  const ask = (content: string) => [{ role: 'user', content }]

  // A queue rejection: the only slot on `narrow` is held by a request its simulator never answers.
  await fetch(`${narrow.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'hang', count: 1 }) })
  const holder = new AbortController()
  const held = post({ model: 'qwen2.5-coder:3b', messages: ask('hold the slot') }, holder.signal).catch(() => 'aborted')
  await until(async () => ((await (await fetch(`${narrow.url}/sim/stats`)).json()) as { active: number }).active === 1, 3_000, 'the held request')
  expect(await post({ model: 'qwen2.5-coder:3b', messages: ask('no room') })).toBe(429)
  holder.abort()
  expect(await held).toBe('aborted')
  // An upstream failure (5xx) and an unknown model (404).
  await fetch(`${big.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 1 }) })
  expect(await post({ model: 'qwen2.5-coder:7b', messages: ask('fail once') })).toBe(502)
  expect(await post({ model: 'no-such-model', messages: ask('hi') })).toBe(404)
  // The route's largest model answers once, so its speed is observed before the first draft is compared with it.
  expect(await post({ model: 'auto', messages: ask(MODERATE_PROMPT) })).toBe(200)

  await using prometheus = await startPrometheus(new URL(gw.url).host)
  let round = 0
  const traffic = async () => {
    round++
    const statuses = await Promise.all([
      post({ model: 'auto', stream: true, messages: ask('add a docstring to this function') }),
      post({ model: 'auto', messages: ask(MODERATE_PROMPT) }),
      // A new conversation each round: one that escalated would continue at the class it reached, unaudited.
      post({ model: 'auto', messages: ask(`fix this bug, round ${round} [fail-draft]`) }),
      post({ model: 'qwen2.5-coder:1.5b', options: { temperature: 0 }, messages: ask('the same question every time') }),
    ])
    expect(statuses).toEqual([200, 200, 200, 200])
  }
  const waiting = new Map(expressions.map((e) => [`${e.source}: ${e.expr}`, e]))
  let rulesHealth = 'no rules evaluated yet'
  try {
    await until(async () => {
      await traffic()
      for (const [key, e] of waiting) if ((await query(prometheus.url, e)).length > 0) waiting.delete(key)
      const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] }
      }
      const notOk = rules.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok')
      const failed = notOk.find((r) => r.health === 'err')
      if (failed) throw new Error(`rule ${failed.name} fails in Prometheus: ${failed.lastError}`)
      rulesHealth = notOk.map((r) => `${r.name}: ${r.health}`).join(', ')
      return waiting.size === 0 && notOk.length === 0 && rules.data.groups.length > 0
    }, 40_000, 'data for every expression')
  } catch (error) {
    throw new Error(`${String(error)}\nstill without data:\n  ${[...waiting.keys()].join('\n  ')}\nrules not ok: ${rulesHealth}`)
  }
}, 60_000)
