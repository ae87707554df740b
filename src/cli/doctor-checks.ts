/** `bun run doctor`'s checks: config, plugins, each backend, the models routes name, routes, nvidia-smi. */
import type { LoadedConfig } from '../config/load.ts'
import { loadConfig } from '../config/load.ts'
import { ConfigError, messageOf } from '../errors.ts'
import { type Gateway, createGateway } from '../gateway.ts'
import { healthReport } from '../http/admin.ts'
import { latestAlias } from '../pipeline/route.ts'
import { createLogger } from '../log.ts'
import type { BackendView, PluginDefinition } from '../plugin/types.ts'
import { describeExitCode } from '../../plugins/nvidia-smi-probe/exit-codes.ts'
import { GPU_QUERY_ARGS, parseGpuCsv } from '../../plugins/nvidia-smi-probe/parse-gpu-csv.ts'
import { runCommand } from '../../plugins/nvidia-smi-probe/run-command.ts'

export const CHECK_STATUSES = ['ok', 'warn', 'fail'] as const
export type CheckStatus = (typeof CHECK_STATUSES)[number]

export interface CheckResult {
  readonly check: string
  readonly status: CheckStatus
  readonly detail: string
  readonly fix?: string
}

export interface DoctorOptions {
  readonly builtins: ReadonlyMap<string, PluginDefinition>
  /** Called before slow steps, for a progress line. */
  readonly onStep?: (label: string) => void
  /** Looks up nvidia-smi; default: on PATH. */
  readonly which?: (name: string) => string | null
}

const quiet = createLogger('doctor', () => {})

export async function runDoctor(path: string | undefined, options: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  let loaded: LoadedConfig
  try {
    loaded = await loadConfig(path)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return [{ check: 'config', status: 'fail', detail: error.issues.join('; '), fix: `edit ${path ?? 'the config'} and fix the fields named` }]
  }
  const { config } = loaded
  results.push({
    check: 'config',
    status: 'ok',
    detail: path ? `${path}: ${config.backends.length} backend(s), ${Object.keys(config.routes ?? {}).length} route(s)` : `no config file: built-in default (Ollama at ${config.backends[0]?.url})`,
  })
  options.onStep?.('probing backends')
  let gateway: Gateway
  try {
    gateway = await createGateway(loaded, options.builtins, { log: quiet, firstProbeWaitMs: 10_000 })
  } catch (error) {
    const detail = error instanceof ConfigError ? error.issues.join('; ') : messageOf(error)
    return [...results, { check: 'plugins', status: 'fail', detail, fix: 'fix the plugins section: a name from the built-in list or a path to a plugin file' }]
  }
  try {
    await gateway.refresh()
    const deps = gateway.deps
    results.push({ check: 'plugins', status: 'ok', detail: deps.plugins.all.map((p) => p.name).join(', ') })
    const views = deps.health.views()
    for (const b of views) results.push(checkBackend(b, deps.health.lastError(b.name)))
    results.push(...checkModels(loaded, views))
    const { body } = await healthReport(deps)
    results.push(...checkRoutes(loaded, body.routes))
    results.push(await checkGpu(loaded, options.which ?? ((name) => Bun.which(name))))
  } finally {
    await gateway.close()
  }
  return results
}

function checkBackend(b: BackendView, lastError: string | undefined): CheckResult {
  const check = `backend ${b.name}`
  if (b.up === undefined) return { check, status: 'warn', detail: `${b.url}: no probe checks this backend`, fix: `add the ${b.kind}-probe plugin (or remove the plugins entries that replace the default probes)` }
  if (!b.up) {
    const fix = b.kind === 'ollama'
      ? `start Ollama there (\`ollama serve\`, or OLLAMA_HOST=${new URL(b.url).host} ollama serve) or fix its url in backends`
      : `start the OpenAI-compatible server at ${b.url} (e.g. \`vllm serve MODEL\` or \`llama-server\`) or fix its url in backends`
    return { check, status: 'fail', detail: `${b.url} unreachable: ${lastError ?? 'no answer'}`, fix }
  }
  const loaded = b.loaded.length ? `; loaded: ${b.loaded.map((m) => m.name).join(', ')}` : ''
  const base = `${b.kind} at ${b.url}, ${b.latencyMs === undefined ? '' : `${Math.round(b.latencyMs)} ms, `}${b.models.length} model(s)${loaded}`
  if (b.models.length === 0) {
    return { check, status: 'warn', detail: `${base}: serves no models`, fix: b.kind === 'ollama' ? `pull one: OLLAMA_HOST=${new URL(b.url).host} ollama pull qwen2.5-coder:7b` : 'start the server with a model loaded' }
  }
  if (b.circuit === 'open') return { check, status: 'warn', detail: `${base}; circuit open after recent failures`, fix: 'check its logs; the gateway retries it when the circuit half-opens' }
  return { check, status: 'ok', detail: base }
}

const sameModel = (a: string, b: string) => a === b || latestAlias(a) === b

/** Every model the config names (routes, models, fallbacks) and which up backends serve it. */
function checkModels({ config }: LoadedConfig, views: readonly BackendView[]): CheckResult[] {
  const named = new Set<string>()
  for (const route of Object.values(config.routes ?? {})) for (const list of [route.SIMPLE, route.MODERATE, route.COMPLEX]) for (const m of list) named.add(m)
  for (const [name, m] of Object.entries(config.models ?? {})) {
    named.add(name)
    for (const f of m.fallbacks ?? []) named.add(f)
  }
  return [...named].sort().map((model) => {
    const allowed = config.models?.[model]?.backends
    const scope = views.filter((b) => !allowed || allowed.includes(b.name))
    const serving = scope.filter((b) => b.up && b.models.some((m) => sameModel(m.name, model)))
    if (serving.length) return { check: `model ${model}`, status: 'ok', detail: `on ${serving.map((b) => b.name).join(', ')}` }
    const ollama = scope.find((b) => b.kind === 'ollama' && b.up)
    const names = scope.map((b) => b.name).join(' or ') || 'a backend'
    const fix = ollama
      ? `OLLAMA_HOST=${new URL(ollama.url).host} ollama pull ${model}`
      : scope.some((b) => b.up) ? `serve ${model} on ${names}, or remove it from the config` : `start ${names} (see above) with ${model}, or remove it from the config`
    const where = scope.some((b) => b.up) ? `not on ${scope.filter((b) => b.up).map((b) => b.name).join(', ')}` : 'no backend that may serve it is up'
    return { check: `model ${model}`, status: 'warn', detail: where, fix }
  })
}

function checkRoutes({ config }: LoadedConfig, routes: Record<string, Record<string, string | null>>): CheckResult[] {
  if (Object.keys(routes).length === 0) {
    return [{ check: 'route auto', status: 'fail', detail: 'no routes in config and no models discovered: `auto` cannot route', fix: 'pull a model on a backend (e.g. `ollama pull qwen2.5-coder:7b`) or add routes to the config' }]
  }
  return Object.entries(routes).map(([name, perClass]) => {
    const detail = Object.entries(perClass).map(([cls, choice]) => `${cls} → ${choice ?? 'nothing'}`).join(', ')
    const dead = Object.entries(perClass).filter(([, choice]) => choice === null).map(([cls]) => cls)
    if (dead.length === 0) return { check: `route ${name}`, status: 'ok', detail }
    const lists = dead.map((cls) => `${cls}: ${(config.routes?.[name]?.[cls as 'SIMPLE'] ?? []).join(', ') || 'empty list'}`).join('; ')
    return { check: `route ${name}`, status: 'fail', detail, fix: `make one model of each class servable (${lists}), or list servable models in routes.${name}` }
  })
}

async function checkGpu({ config }: LoadedConfig, which: (name: string) => string | null): Promise<CheckResult> {
  const wanted = config.backends.filter((b) => b.gpu !== undefined).map((b) => b.name)
  const binary = which('nvidia-smi')
  if (!binary) {
    if (wanted.length === 0) return { check: 'gpu', status: 'ok', detail: 'nvidia-smi not found; no backend names a GPU (CPU-only is fine)' }
    return { check: 'gpu', status: 'warn', detail: `nvidia-smi not found, but backends ${wanted.join(', ')} name a GPU: no GPU tiles or VRAM-aware selection`, fix: 'install the NVIDIA driver utilities (nvidia-smi) on this host, or drop `gpu` from those backends' }
  }
  // The probe's own query: what works here works for the nvidia-smi-probe plugin too.
  const result = await runCommand([binary, ...GPU_QUERY_ARGS], AbortSignal.timeout(5_000), undefined)
  if (result.kind !== 'exited' || result.code !== 0) {
    const why =
      result.kind === 'exited' ? `exit ${result.code}, ${describeExitCode(result.code)}: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? ''}`
      : result.kind === 'aborted' ? 'no answer within 5 s'
      : result.error
    const detail = `${binary} failed (${why})`
    return { check: 'gpu', status: wanted.length ? 'fail' : 'warn', detail, fix: 'load the NVIDIA driver (a reboot after a driver update often fixes "couldn\'t communicate with the NVIDIA driver")' }
  }
  const gpus = parseGpuCsv(result.stdout)
  const indexes = new Set(gpus.map((g) => g.index))
  const missing = config.backends.flatMap((b) => (b.gpu ?? []).filter((i) => !indexes.has(i)).map((i) => `${b.name}→${i}`))
  const detail = `${gpus.length} GPU(s): ${gpus.map((g) => `${g.index} ${g.name ?? 'unnamed GPU'} ${g.memoryUsedMiB ?? '?'}/${g.memoryTotalMiB ?? '?'} MiB`).join('; ')}`
  if (missing.length) return { check: 'gpu', status: 'warn', detail: `${detail}; no such GPU for ${missing.join(', ')}`, fix: 'set backends[].gpu to indexes nvidia-smi lists' }
  const probe = config.plugins?.some((p) => p.use === 'nvidia-smi-probe' && p.enabled)
  return probe
    ? { check: 'gpu', status: 'ok', detail }
    : { check: 'gpu', status: 'warn', detail: `${detail}; the nvidia-smi-probe plugin is off`, fix: 'add { "use": "nvidia-smi-probe" } to plugins for GPU tiles and VRAM-aware selection' }
}
