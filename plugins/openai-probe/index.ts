/** Probe plugin for OpenAI-compatible backends (vLLM, llama.cpp): /v1/models, optional /metrics load and /health. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { BackendReport, GatewayInfo } from 'switchyard/plugin'
import { type HttpResult, httpGet, parseJson } from 'switchyard/plugin'
import { parseModels } from './parse-models.ts'
import { parsePrometheusText } from './prometheus-text.ts'
import { readLoad } from './read-load.ts'

type Backend = GatewayInfo['backends'][number]

interface ProbeOptions {
  readonly metrics: boolean
  readonly health: boolean
}

export default definePlugin({
  name: 'openai-probe',
  kind: 'probe',
  options: v.strictObject({
    intervalMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 5_000),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 2_000),
    /** Backend names to probe; default: every backend of kind `openai`. */
    backends: v.optional(v.array(v.string())),
    /** Read running/waiting/KV-cache load from /metrics (vLLM; llama.cpp with --metrics). */
    metrics: v.optional(v.boolean(), true),
    /** Also require /health to answer 2xx; without it /health is only read to explain a failed /v1/models. */
    health: v.optional(v.boolean(), false),
  }),
  setup(ctx) {
    const { intervalMs, timeoutMs, metrics, health } = ctx.options
    const targets = pickBackends(ctx.gateway.backends, ctx.options.backends)
    for (const name of ctx.options.backends ?? []) {
      if (!targets.some((b) => b.name === name)) ctx.log.warn('no openai backend with this name; not probed', { backend: name })
    }
    return {
      intervalMs,
      timeoutMs,
      async check(signal) {
        const deadline = AbortSignal.any([signal, ctx.signal, AbortSignal.timeout(timeoutMs)])
        return { backends: await Promise.all(targets.map((b) => probeOpenai(b, { metrics, health }, deadline))) }
      },
    }
  },
})

function pickBackends(all: readonly Backend[], names: readonly string[] | undefined): Backend[] {
  if (!names) return all.filter((b) => b.kind === 'openai')
  return all.filter((b) => b.kind === 'openai' && names.includes(b.name))
}

/** A backend URL may be the server root or end in /v1; /metrics and /health live at the root. */
function serverRoot(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '')
}

async function probeOpenai(backend: Backend, opts: ProbeOptions, signal: AbortSignal): Promise<BackendReport> {
  const root = serverRoot(backend.url)
  const [models, metrics, health] = await Promise.all([
    httpGet(`${root}/v1/models`, signal, backend.headers),
    opts.metrics ? httpGet(`${root}/metrics`, signal, backend.headers) : undefined,
    opts.health ? httpGet(`${root}/health`, signal, backend.headers) : undefined,
  ])
  if (!models.ok) {
    const checked = health ?? (signal.aborted ? undefined : await httpGet(`${root}/health`, signal, backend.headers))
    // Only an HTTP answer from /health adds anything to a refused or timed-out /v1/models.
    const why = checked?.status === undefined ? undefined : describeHealth(checked)
    return { name: backend.name, up: false, error: `/v1/models: ${models.error}${why ? `; ${why}` : ''}` }
  }

  const listing = parseModels(parseJson(models.text))
  // Missing or failing /metrics (404 without --metrics) only means no load figures.
  const load = metrics?.ok ? readLoad(parsePrometheusText(metrics.text)) : {}
  const healthy = health === undefined || health.ok
  const problems = [
    ...(listing.ok ? [] : [`/v1/models: ${listing.error}`]),
    ...(healthy ? [] : [describeHealth(health)]),
  ]
  return {
    name: backend.name,
    up: healthy,
    latencyMs: models.latencyMs,
    ...(listing.ok ? { models: listing.value } : {}),
    ...load,
    ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
  }
}

/** Explains a /health answer: llama.cpp says 503 "Loading model" until it can serve. */
function describeHealth(health: HttpResult | undefined): string | undefined {
  if (!health || health.ok) return undefined
  if (health.status === undefined) return `/health: ${health.error}`
  const body = health.text === undefined ? undefined : parseJson(health.text)
  const message = readErrorMessage(body)
  if (health.status === 503) return `/health: not ready (${message ?? 'HTTP 503'})`
  return `/health: ${message ? `${health.error} ${message}` : health.error}`
}

function readErrorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined
  const error: unknown = body.error
  if (typeof error === 'string') return error
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') return error.message
  return undefined
}
