/** Resolve `use`, validate every entry's options, set plugins up in config order, close in reverse. */
import { resolve } from 'node:path'
import * as v from 'valibot'
import type { Config, PluginEntry } from '../config/schema.ts'
import { formatIssue } from '../config/load.ts'
import { ConfigError, messageOf } from '../errors.ts'
import { createLogger } from '../log.ts'
import { importCurrent, isPluginPath } from './import-current.ts'
import { PLUGIN_KINDS, type GatewayInfo, type PluginDefinition, type PluginInstance, type PluginKind } from './types.ts'

export interface LoadedPlugin<K extends PluginKind = PluginKind> {
  readonly name: string
  readonly kind: K
  readonly instance: PluginInstance<K>
}

export interface PluginSet {
  readonly all: readonly LoadedPlugin[]
  of<K extends PluginKind>(kind: K): readonly LoadedPlugin<K>[]
  close(): Promise<void>
}

/** Built-in plugins run for a kind the config does not mention (when they exist in the registry). */
const DEFAULTS_BY_KIND: Partial<Record<PluginKind, readonly string[]>> = {
  classifier: ['learned-classifier'],
  selector: ['tiered-selector'],
  probe: ['ollama-probe', 'openai-probe'],
  cache: ['memory-cache'],
  telemetry: ['dashboard', 'prometheus', 'otel'],
  history: ['sqlite-history'],
}

export interface Resolved {
  readonly entry: PluginEntry
  readonly definition: PluginDefinition
  readonly options: unknown
}

function isDefinition(value: unknown): value is PluginDefinition {
  const d = value as Partial<PluginDefinition> | undefined
  return (
    !!d && typeof d.name === 'string' && typeof d.setup === 'function' && typeof d.options === 'object' &&
    PLUGIN_KINDS.includes(d.kind as PluginKind)
  )
}

async function resolveDefinition(use: string, builtins: ReadonlyMap<string, PluginDefinition>, baseDir: string): Promise<PluginDefinition | string> {
  if (!isPluginPath(use)) {
    return builtins.get(use) ?? `unknown plugin "${use}"; built-in plugins: ${[...builtins.keys()].sort().join(', ')}`
  }
  const path = resolve(baseDir, use)
  let mod: { default?: unknown }
  try {
    mod = (await importCurrent(path)) as { default?: unknown }
  } catch (error) {
    return `cannot load ${path}: ${messageOf(error)}`
  }
  return isDefinition(mod.default) ? mod.default : `${path} has no default export made with definePlugin({ name, kind, options, setup })`
}

/** Entries plus defaults for the kinds they leave out; all options validated before anything is set up. */
export async function resolvePlugins(
  entries: readonly PluginEntry[] | undefined,
  builtins: ReadonlyMap<string, PluginDefinition>,
  baseDir: string,
): Promise<Resolved[]> {
  const issues: string[] = []
  const resolved: Resolved[] = []
  const kinds: PluginKind[] = []
  const list = entries ?? []
  for (const [i, entry] of list.entries()) {
    const definition = await resolveDefinition(entry.use, builtins, baseDir)
    if (typeof definition === 'string') {
      issues.push(`plugins[${i}].use: ${definition}`)
      continue
    }
    const parsed = v.safeParse(definition.options, entry.options)
    if (!parsed.success) {
      for (const issue of parsed.issues) issues.push(formatIssue(issue, `plugins[${i}].options`))
      continue
    }
    kinds.push(definition.kind)
    if (entry.enabled) resolved.push({ entry, definition, options: parsed.output })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  // A kind named in config, even by a disabled entry, gets no default.
  const mentioned = new Set<PluginKind>(kinds)
  for (const [kind, names] of Object.entries(DEFAULTS_BY_KIND) as [PluginKind, string[]][]) {
    if (mentioned.has(kind)) continue
    for (const name of names) {
      const definition = builtins.get(name)
      if (definition) resolved.push({ entry: { use: name, options: {}, enabled: true }, definition, options: v.parse(definition.options, {}) })
    }
  }
  return resolved
}

/**
 * Auditors the config's routes name (`routes.<r>.escalate.auditor`) and the plugins leave out: a built-in auditor is
 * added with its default options; any other name is a config error naming the route.
 */
export function addRouteAuditors(resolved: Resolved[], config: Config, builtins: ReadonlyMap<string, PluginDefinition>): Resolved[] {
  const have = new Set(resolved.filter((r) => r.definition.kind === 'auditor').map((r) => r.entry.as ?? r.definition.name))
  const issues: string[] = []
  const added: Resolved[] = []
  for (const [route, entry] of Object.entries(config.routes ?? {})) {
    const name = entry.escalate?.auditor
    if (name === undefined || have.has(name)) continue
    const definition = builtins.get(name)
    if (definition?.kind !== 'auditor') {
      const known = [...new Set([...have, ...[...builtins.values()].filter((d) => d.kind === 'auditor').map((d) => d.name)])].sort()
      issues.push(`routes.${route}.escalate.auditor: no auditor plugin "${name}"; auditors: ${known.join(', ') || 'none'}`)
      continue
    }
    have.add(name)
    added.push({ entry: { use: name, options: {}, enabled: true }, definition, options: v.parse(definition.options, {}) })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return added.length ? [...resolved, ...added] : resolved
}

/**
 * What plugins `keep` across the config generations of one gateway. A generation's setup marks what it asks for;
 * `commit()` (once that generation serves) drops the rest.
 */
export class KeptState {
  readonly #values = new Map<string, unknown>()

  /** A `keep` for one generation's plugins; `commit` drops what that generation did not ask for. */
  generation(): { keep(plugin: string, key: string, create: () => unknown): unknown; commit(): void } {
    const asked = new Set<string>()
    return {
      keep: (plugin, key, create) => {
        const id = `${plugin}\u0000${key}`
        asked.add(id)
        if (!this.#values.has(id)) this.#values.set(id, create())
        return this.#values.get(id)
      },
      commit: () => {
        for (const id of this.#values.keys()) if (!asked.has(id)) this.#values.delete(id)
      },
    }
  }
}

/** Set resolved plugins up in order; when one fails, the ones already set up are closed. */
export async function setupPlugins(
  resolved: readonly Resolved[],
  gateway: GatewayInfo,
  baseDir: string,
  kept: ReturnType<KeptState['generation']> = new KeptState().generation(),
  stateDir = baseDir,
): Promise<PluginSet> {
  const loaded: { plugin: LoadedPlugin; controller: AbortController }[] = []
  const close = async () => {
    for (const { plugin, controller } of loaded.toReversed()) {
      controller.abort()
      try {
        await plugin.instance.close?.()
      } catch (error) {
        createLogger(plugin.name).warn('close failed', { error: String(error) })
      }
    }
  }
  for (const { entry, definition, options } of resolved) {
    const name = entry.as ?? definition.name
    const controller = new AbortController()
    try {
      const keep = <T>(key: string, create: () => T) => kept.keep(name, key, create) as T
      const instance = await definition.setup({ name, options, signal: controller.signal, log: createLogger(name), gateway, baseDir, stateDir, keep })
      loaded.push({ plugin: { name, kind: definition.kind, instance }, controller })
    } catch (error) {
      await close()
      throw new ConfigError([`plugin "${name}" failed to start: ${messageOf(error)}`])
    }
  }
  const all = loaded.map((l) => l.plugin)
  // Per kind once: the request path asks several times per request.
  const byKind = new Map<PluginKind, readonly LoadedPlugin[]>()
  for (const p of all) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p])
  return {
    all,
    of: <K extends PluginKind>(kind: K) => (byKind.get(kind) ?? []) as readonly LoadedPlugin<K>[],
    close,
  }
}
