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
  return issues
}
