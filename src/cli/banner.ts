/** The startup banner: where to connect, backends and their health, models with tiers, routes, plugins. */
import type { GatewayDeps } from '../pipeline/deps.ts'
import { healthReport } from '../http/admin.ts'
import { parameterCount, tierOf } from '../pipeline/auto-tier.ts'
import { TASK_CLASSES } from '../plugin/types.ts'
import { type Colors, classColor } from './color.ts'
import { formatTable } from './table.ts'

const formatParams = (n: number | undefined) => (n === undefined ? '?' : n >= 1e9 ? `${+(n / 1e9).toFixed(1)}B` : `${Math.round(n / 1e6)}M`)

/** Which classes list a model: the config's routes when it has them, else the auto tier by size. */
function tiersOf(deps: GatewayDeps, model: string, params: number | undefined): string[] {
  const routes = deps.config.routes
  if (!routes) return params === undefined ? [] : [tierOf(params)]
  return TASK_CLASSES.filter((cls) => Object.values(routes).some((r) => r[cls].includes(model)))
}

export async function formatBanner(deps: GatewayDeps, url: string, c: Colors, configPath: string | undefined): Promise<string> {
  const views = deps.health.views()
  const out = [`${c.bold('switchyard')} listening on ${c.cyan(url)}  ${c.dim(`config: ${configPath ?? 'built-in default'}`)}`]
  if (deps.plugins.all.some((p) => p.name === 'dashboard')) out.push(`  dashboard  ${c.cyan(`${url.replace(/\/$/, '')}/dashboard`)}`)

  out.push('', c.bold('backends'))
  const backendRows = views.map((b) => {
    const state = b.up === true ? c.green('✓ up') : b.up === false ? c.red('✗ down') : c.yellow('? unknown')
    const gpus = b.gpus.length ? `GPU ${b.gpus.map((g) => g.index).join(',')}` : ''
    const note = b.up === false ? c.red(deps.health.lastError(b.name) ?? 'no answer') : b.circuit === 'open' ? c.yellow('circuit open') : `${b.models.length} model(s)`
    return [state, b.name, b.kind, b.url, b.latencyMs === undefined ? '' : `${Math.round(b.latencyMs)} ms`, gpus, note]
  })
  out.push(formatTable(['', 'name', 'kind', 'url', 'latency', 'gpu', ''], backendRows, { indent: '  ', headerStyle: c.dim }))
  if (views.some((b) => b.up === false)) {
    out.push(c.yellow('  a down backend gets traffic once it answers; `bun run doctor` says how to fix it, `bun run demo` runs without a model server'))
  }

  const models = new Map<string, { params?: number; on: string[]; loaded: boolean }>()
  for (const b of views) {
    for (const m of b.models) {
      const row = models.get(m.name) ?? { params: parameterCount(m), on: [], loaded: false }
      if (b.up) row.on.push(b.name)
      row.loaded ||= b.loaded.some((l) => l.name === m.name)
      models.set(m.name, row)
    }
  }
  out.push('', c.bold('models'))
  if (models.size === 0) out.push(c.yellow('  none discovered yet'))
  else {
    const rows = [...models.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, m]) => {
      const tiers = tiersOf(deps, name, m.params)
      return [name, formatParams(m.params), tiers.map((t) => classColor(c, t)(t)).join(',') || c.dim('-'), m.on.length ? c.green(m.on.join(',')) : c.red('no backend up'), m.loaded ? 'loaded' : c.dim('cold')]
    })
    out.push(formatTable(['model', 'params', 'tier', 'on', ''], rows, { indent: '  ', headerStyle: c.dim, right: [1] }))
  }

  const { body } = await healthReport(deps)
  out.push('', c.bold('routes'))
  const routes = Object.entries(body.routes)
  if (routes.length === 0) out.push(c.yellow('  none: no routes in config and no models to build `auto` from'))
  for (const [name, perClass] of routes) {
    const choices = Object.entries(perClass).map(([cls, choice]) => `${classColor(c, cls)(cls)} → ${choice ?? c.red('nothing')}`)
    out.push(`  ${c.bold(name)}${deps.config.routes ? '' : c.dim(' (built from discovered models)')}  ${choices.join('  ')}`)
  }
  if (!deps.config.routes && routes.length === 0 && views.length) out.push(c.dim('  pull a model (ollama pull qwen2.5-coder:7b) and `auto` appears'))

  out.push('', `${c.bold('plugins')}  ${deps.plugins.all.map((p) => `${p.name}${c.dim(`(${p.kind})`)}`).join(' ')}`, '')
  return out.join('\n')
}
