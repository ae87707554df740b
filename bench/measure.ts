/** One measurement of one target: saturation throughput + CPU per request, fixed-rate latency, TTFB, RSS. */
import { join } from 'node:path'
import type { Target } from './fleet.ts'
import type { LoadJob, LoadResult } from './load-args.ts'
import { BUN_ENV, LOAD_CORE, cpuMsOf, pinned, rssKbOf } from './processes.ts'
import { HOLD_MODEL, MARKER, type Protocol, SLOW_ROUTE, type Scenario, TTFB_MODEL, bodyTemplate, modelFor, pathOf } from './scenarios.ts'
import { hasWrk, runWrk } from './wrk.ts'

export interface Throughput {
  readonly rps: number
  /** Server CPU (user + system) per completed request, in microseconds. */
  readonly cpuUsPerRequest: number
  /** Share of one core the server used during the run. */
  readonly busy: number
  readonly errors: number
  readonly firstError?: string
}

export interface Latency {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly errors: number
}

export interface FirstByte {
  readonly ttfbUs: number
  readonly totalUs: number
  readonly errors: number
}

export function templateFor(target: Target, scenario: Scenario): string {
  return bodyTemplate(scenario.protocol, modelFor(scenario, { gateway: target.kind === 'gateway' }), scenario.stream)
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const cmd = pinned(LOAD_CORE, [process.execPath, join(import.meta.dir, 'load.ts'), JSON.stringify(job)])
  const proc = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...BUN_ENV } })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  if ((await proc.exited) !== 0) throw new Error(`load generator failed: ${err.slice(-800)}`)
  return JSON.parse(out.trim().split('\n').at(-1) as string) as LoadResult
}

/** One request from here, so a misconfigured target fails loudly instead of benchmarking its error page. */
export async function preflight(target: Target, scenario: Scenario): Promise<void> {
  const body = templateFor(target, scenario).replace(MARKER, `preflight-${Math.random()}`)
  const res = await fetch(target.server.url + pathOf(scenario.protocol), { method: 'POST', body, headers: { 'content-type': 'application/json', ...target.headers } })
  const text = await res.text()
  if (!res.ok) throw new Error(`${target.name} ${scenario.name}: HTTP ${res.status}: ${text.slice(0, 300)}`)
}

export async function measureThroughput(target: Target, scenario: Scenario, connections: number, durationMs: number): Promise<Throughput> {
  const url = target.server.url + pathOf(scenario.protocol)
  const template = templateFor(target, scenario)
  const cpuBefore = cpuMsOf(target.server.pid)
  const wallBefore = performance.now()
  const result = hasWrk()
    ? await runWrk({ url, template, headers: target.headers, connections, durationMs })
    : await runLoad({ mode: 'closed', url, template, headers: target.headers, connections, durationMs })
  const cpuMs = cpuMsOf(target.server.pid) - cpuBefore
  const wallMs = performance.now() - wallBefore
  return {
    rps: (result.requests * 1000) / result.durationMs,
    cpuUsPerRequest: result.requests ? (cpuMs * 1000) / result.requests : Number.NaN,
    busy: cpuMs / wallMs,
    errors: result.errors,
    ...(result.firstError ? { firstError: result.firstError } : {}),
  }
}

export async function measureLatency(target: Target, scenario: Scenario, ratePerSecond: number, durationMs: number): Promise<Latency> {
  const url = target.server.url + pathOf(scenario.protocol)
  const r = await runLoad({ mode: 'open', url, template: templateFor(target, scenario), headers: target.headers, ratePerSecond, durationMs })
  return { p50: r.latencyUs.p50, p99: r.latencyUs.p99, p999: r.latencyUs.p999, errors: r.errors }
}

/** Streams from the slow upstream: if time to first chunk is close to the total, something buffers. */
export async function measureFirstByte(target: Target, protocol: Protocol, count: number): Promise<FirstByte> {
  // 30 tokens at ~150 tokens/s: a first chunk within ~10 ms, the end ~200 ms later.
  const limit = protocol === 'openai' ? { max_tokens: 30 } : { options: { temperature: 0, num_predict: 30 } }
  const template = bodyTemplate(protocol, TTFB_MODEL, true, limit)
  const r = await runLoad({ mode: 'ttfb', url: target.slowUrl + pathOf(protocol), template, headers: target.slowHeaders, count, connections: 4 })
  return { ttfbUs: r.latencyUs.p50, totalUs: r.totalUs?.p50 ?? Number.NaN, errors: r.errors }
}

/**
 * Stream throughput from the slow upstream: `count` streams of ~0.8 s started at once (named, or `auto` through a
 * route to the slow model), streams a second over the whole batch. The upstream sets the pace; what the gateway adds
 * to it shows as a lower rate.
 */
export async function measureSlowStreams(target: Target, protocol: Protocol, auto: boolean, count: number): Promise<{ perSecond: number; errors: number }> {
  const model = auto && target.kind === 'gateway' ? SLOW_ROUTE : TTFB_MODEL
  const r = await runLoad({ mode: 'hold', url: target.slowUrl + pathOf(protocol), template: bodyTemplate(protocol, model, true), headers: target.slowHeaders, count })
  return { perSecond: r.requests / (r.durationMs / 1000), errors: r.errors }
}

export interface OpenStreams {
  readonly rssPeakKb: number
  readonly openAtOnce: number
  readonly errors: number
  readonly firstError?: string
}

/** N streams held open together through the target; the server's RSS is sampled until they all end. */
export async function measureOpenStreams(target: Target, count: number): Promise<OpenStreams> {
  const protocol: Protocol = target.openaiOnly ? 'openai' : 'ollama'
  const template = bodyTemplate(protocol, HOLD_MODEL, true, protocol === 'ollama' ? { keep_alive: -1 } : {})
  let peak = rssKbOf(target.server.pid)
  let running = true
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, rssKbOf(target.server.pid))
      await Bun.sleep(100)
    }
  })()
  try {
    const r = await runLoad({ mode: 'hold', url: target.slowUrl + pathOf(protocol), template, headers: target.slowHeaders, count })
    return { rssPeakKb: peak, openAtOnce: r.openAtOnce ?? 0, errors: r.errors, ...(r.firstError ? { firstError: r.firstError } : {}) }
  } finally {
    running = false
    await sampler
  }
}

/** Load the slow models once (a cold start takes seconds) and keep them loaded, so runs measure streaming only. */
export async function warmSlowModels(slowUpstream: string): Promise<void> {
  for (const model of [TTFB_MODEL, HOLD_MODEL]) {
    const body = bodyTemplate('ollama', model, false, { keep_alive: -1, options: { num_predict: 1 } }).replace(MARKER, 'warm')
    await fetch(`${slowUpstream}/api/chat`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then((r) => r.arrayBuffer())
  }
}
