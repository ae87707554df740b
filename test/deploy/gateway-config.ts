/** Load a deployment's gateway config as the gateway does at startup: schema, references, every plugin's options. */
import { builtinPlugins } from '../../plugins/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'
import { resolvePlugins } from '../../src/plugin/load.ts'

export interface CheckedConfig {
  readonly config: Config
  /** Plugins that would run, defaults for unmentioned kinds included. */
  readonly plugins: readonly string[]
}

/** Throws the gateway's own ConfigError (every bad field with its path) for a config it would refuse. */
export async function checkGatewayConfig(raw: unknown, source: string, baseDir: string): Promise<CheckedConfig> {
  const config = parseConfig(raw, source)
  const resolved = await resolvePlugins(config.plugins, builtinPlugins, baseDir)
  return { config, plugins: resolved.map((r) => r.definition.name) }
}
