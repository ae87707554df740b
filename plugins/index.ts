/** The built-in plugin registry: explicit imports, name -> definition. */
import type { PluginDefinition } from 'switchyard/plugin'
import { auditorPlugins } from './auditors.ts'
import { cachePlugins } from './caches.ts'
import { classifierPlugins } from './classifiers.ts'
import dashboard from './dashboard/index.ts'
import { probePlugins } from './probes.ts'
import { telemetryPlugins } from './telemetry.ts'
import { historyPlugins } from './histories.ts'
import tieredSelector from './tiered-selector/index.ts'

const all: readonly PluginDefinition[] = [...classifierPlugins, tieredSelector, ...probePlugins, ...cachePlugins, dashboard, ...telemetryPlugins, ...historyPlugins, ...auditorPlugins] as readonly PluginDefinition[]

export const builtinPlugins: ReadonlyMap<string, PluginDefinition> = new Map(all.map((d) => [d.name, d]))
