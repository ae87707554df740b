/** Probe plugin for Ollama backends: /api/version for liveness, /api/tags for models, /api/ps for what is loaded. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { BackendReport, GatewayInfo } from 'switchyard/plugin'
import { httpGet, parseJson } from 'switchyard/plugin'
import { parsePs, parseTags } from './parse-ollama.ts'

type Backend = GatewayInfo['backends'][number]

export default definePlugin({
  name: 'ollama-probe',
  kind: 'probe',
  options: v.strictObject({
    intervalMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 5_000),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 2_000),
    /** Backend names to probe; default: every backend of kind `ollama`. */
    backends: v.optional(v.array(v.string())),
  }),
  setup(ctx) {
    const { intervalMs, timeoutMs } = ctx.options
    const targets = pickBackends(ctx.gateway.backends, ctx.options.backends)
    for (const name of ctx.options.backends ?? []) {
      if (!targets.some((b) => b.name === name)) ctx.log.warn('no ollama backend with this name; not probed', { backend: name })
    }
    return {
      intervalMs,
      timeoutMs,
      async check(signal) {
        const deadline = AbortSignal.any([signal, ctx.signal, AbortSignal.timeout(timeoutMs)])
        return { backends: await Promise.all(targets.map((b) => probeOllama(b, deadline))) }
      },
    }
  },
})

function pickBackends(all: readonly Backend[], names: readonly string[] | undefined): Backend[] {
  if (!names) return all.filter((b) => b.kind === 'ollama')
  return all.filter((b) => b.kind === 'ollama' && names.includes(b.name))
}

async function probeOllama(backend: Backend, signal: AbortSignal): Promise<BackendReport> {
  const base = backend.url.replace(/\/+$/, '')
  const [version, tags, ps] = await Promise.all([
    httpGet(`${base}/api/version`, signal, backend.headers),
    httpGet(`${base}/api/tags`, signal, backend.headers),
    httpGet(`${base}/api/ps`, signal, backend.headers),
  ])
  if (!version.ok) return { name: backend.name, up: false, error: `/api/version: ${version.error}` }

  const problems: string[] = []
  const models = tags.ok ? parseTags(parseJson(tags.text)) : { ok: false as const, error: tags.error }
  if (!models.ok) problems.push(`/api/tags: ${models.error}`)
  const loaded = ps.ok ? parsePs(parseJson(ps.text)) : { ok: false as const, error: ps.error }
  if (!loaded.ok) problems.push(`/api/ps: ${loaded.error}`)

  return {
    name: backend.name,
    up: true,
    latencyMs: version.latencyMs,
    ...(models.ok ? { models: models.value } : {}),
    ...(loaded.ok ? { loaded: loaded.value } : {}),
    // The server answers, so it is up; a broken listing is still worth surfacing.
    ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
  }
}
