/** Find, read and validate the config (JSON, or a `.ts` module exporting `defineConfig({...})`). */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import * as v from 'valibot'
import { ConfigError, messageOf } from '../errors.ts'
import { type Config, ConfigFile } from './schema.ts'
import { TASK_CLASSES } from '../plugin/types.ts'

export interface LoadedConfig {
  readonly config: Config
  /** Absolute path of the file read, or undefined for the built-in default. */
  readonly path: string | undefined
  /** Directory that relative plugin paths resolve against. */
  readonly baseDir: string
}

const CANDIDATES = ['switchyard.config.json', 'switchyard.config.ts']

/** Where the config comes from: an explicit path, `SWITCHYARD_CONFIG`, or a file in `cwd`. */
export function findConfigPath(explicit: string | undefined, cwd = process.cwd()): string | undefined {
  const named = explicit ?? process.env.SWITCHYARD_CONFIG
  if (named) return resolve(cwd, named)
  for (const name of CANDIDATES) {
    const path = resolve(cwd, name)
    if (existsSync(path)) return path
  }
  return undefined
}

/** `$OLLAMA_HOST` as Ollama reads it (`host`, `host:port` or a URL), else the default local server. */
export function ollamaHostUrl(env: string | undefined = process.env.OLLAMA_HOST): string {
  if (!env) return 'http://127.0.0.1:11434'
  // As Ollama does: with no scheme the port defaults to 11434; with one, to the scheme's own port.
  const hasScheme = /^https?:\/\//.test(env)
  const url = new URL(hasScheme ? env : `http://${env}`)
  if (!hasScheme && !url.port) url.port = '11434'
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1'
  return url.origin
}

export function defaultConfigInput(): unknown {
  return { backends: [{ name: 'ollama', kind: 'ollama', url: ollamaHostUrl() }] }
}

/** Read and validate a config file; throws ConfigError naming every bad field. */
export async function loadConfig(path: string | undefined): Promise<LoadedConfig> {
  if (!path) return { config: parseConfig(defaultConfigInput(), 'built-in default config'), path, baseDir: process.cwd() }
  if (!existsSync(path)) throw new ConfigError([`file not found: ${path}`], path)
  let raw: unknown
  try {
    if (path.endsWith('.json')) raw = JSON.parse(await Bun.file(path).text())
    else {
      // A query string defeats the module cache so a reload sees the edited file.
      const mod = (await import(`${path}?t=${Date.now()}`)) as { default?: unknown }
      raw = mod.default
    }
  } catch (error) {
    throw new ConfigError([`cannot read: ${messageOf(error)}`], path)
  }
  return { config: parseConfig(raw, path), path, baseDir: dirname(path) }
}

/** Validate a raw config object: schema first, then references between sections. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = v.safeParse(ConfigFile, raw)
  if (!result.success) throw new ConfigError(result.issues.map((issue) => formatIssue(issue)), source)
  const issues = checkReferences(result.output)
  if (issues.length > 0) throw new ConfigError(issues, source)
  return result.output
}

/** `backends[0].url: Invalid URL: Received "x"` — the path as a user would write it. */
export function formatIssue(issue: v.BaseIssue<unknown>, prefix = ''): string {
  let path = prefix
  for (const item of issue.path ?? []) {
    const key = (item as { key?: unknown }).key
    path += typeof key === 'number' ? `[${key}]` : path ? `.${String(key)}` : String(key)
  }
  return path ? `${path}: ${issue.message}` : issue.message
}

function checkReferences(config: Config): string[] {
  const issues: string[] = []
  const names = new Set<string>()
  config.backends.forEach((b, i) => {
    if (names.has(b.name)) issues.push(`backends[${i}].name: duplicate backend name "${b.name}"`)
    names.add(b.name)
  })
  for (const [model, entry] of Object.entries(config.models ?? {})) {
    entry.backends?.forEach((b, i) => {
      if (!names.has(b)) issues.push(`models.${model}.backends[${i}]: unknown backend "${b}"; backends: ${[...names].join(', ')}`)
    })
  }
  for (const [route, entry] of Object.entries(config.routes ?? {})) {
    if (config.models && route in config.models) issues.push(`routes.${route}: a route cannot share its name with a model`)
    if (entry.SIMPLE.length + entry.MODERATE.length + entry.COMPLEX.length === 0)
      issues.push(`routes.${route}: lists no models for any class`)
    entry.escalate?.classes.forEach((label, i) => {
      const above = TASK_CLASSES.slice(TASK_CLASSES.indexOf(label) + 1)
      if (!above.some((c) => entry[c].length > 0)) {
        issues.push(`routes.${route}.escalate.classes[${i}]: no class above ${label} lists models, so a ${label} draft has nowhere to escalate`)
      }
    })
  }
  issues.push(...checkTeams(config))
  return issues
}

/** Models the config names anywhere (model entries, route candidates, fallbacks): what a team route may name. */
function namedModels(config: Config): Set<string> {
  const names = new Set<string>(Object.keys(config.models ?? {}))
  for (const m of Object.values(config.models ?? {})) for (const f of m.fallbacks ?? []) names.add(f)
  for (const r of Object.values(config.routes ?? {})) for (const c of TASK_CLASSES) for (const m of r[c]) names.add(m)
  return names
}

/** Teams as a whole: unique names, each key in one team at most, route overrides naming known routes and models, no route left empty. */
function checkTeams(config: Config): string[] {
  const { teams, keys } = config.auth
  if (teams.length === 0) return keys.flatMap((k, i) => (k.team ? [`auth.keys[${i}].team: no team "${k.team}"; auth.teams is empty`] : []))
  const issues: string[] = []
  const names = new Set<string>()
  teams.forEach((t, i) => {
    if (names.has(t.name)) issues.push(`auth.teams[${i}].name: duplicate team "${t.name}"`)
    names.add(t.name)
  })
  const keyNames = new Set(keys.map((k, i) => k.name ?? `key ${i + 1}`))
  const teamOfKey = new Map<string, string>()
  keys.forEach((k, i) => {
    if (!k.team) return
    if (!names.has(k.team)) issues.push(`auth.keys[${i}].team: no team "${k.team}"; teams: ${[...names].join(', ')}`)
    else teamOfKey.set(k.name ?? `key ${i + 1}`, k.team)
  })
  const routes = config.routes
  const known = namedModels(config)
  teams.forEach((t, i) => {
    t.keys.forEach((key, j) => {
      if (!keyNames.has(key)) issues.push(`auth.teams[${i}].keys[${j}]: no key named "${key}"; keys: ${[...keyNames].join(', ') || 'none'}`)
      const other = teamOfKey.get(key)
      if (other && other !== t.name) issues.push(`auth.teams[${i}].keys[${j}]: key "${key}" is already in team "${other}"; a key belongs to one team`)
      else teamOfKey.set(key, t.name)
    })
    for (const [route, override] of Object.entries(t.routes ?? {})) {
      if (!(routes ? Object.hasOwn(routes, route) : route === 'auto')) issues.push(`auth.teams[${i}].routes.${route}: no route "${route}"; routes: ${routes ? Object.keys(routes).join(', ') : 'auto'}`)
      for (const c of TASK_CLASSES) {
        override[c]?.forEach((m, j) => {
          if (!known.has(m)) issues.push(`auth.teams[${i}].routes.${route}.${c}[${j}]: unknown model "${m}"; models named in the config: ${[...known].sort().join(', ')}`)
        })
      }
    }
    if (!t.models || !routes) return
    // The team's routes (named in its list or overridden) must each keep an allowed model in some class.
    const isRoute = (m: string) => Object.hasOwn(routes, m)
    const concrete = new Set(t.models.filter((m) => !isRoute(m)))
    if (concrete.size === 0) return
    const own = new Set([...t.models.filter(isRoute), ...Object.keys(t.routes ?? {}).filter(isRoute)])
    for (const route of own) {
      const merged = { ...routes[route]!, ...t.routes?.[route] }
      if (!TASK_CLASSES.some((c) => (merged[c] ?? []).some((m) => concrete.has(m)))) {
        issues.push(`auth.teams[${i}].models: leaves route "${route}" with no allowed model (its models: ${TASK_CLASSES.flatMap((c) => merged[c] ?? []).join(', ')})`)
      }
    }
  })
  return issues
}
