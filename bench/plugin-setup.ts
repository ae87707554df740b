/** A plugin set up as the loader does it (options through its schema, nothing kept across reloads), for the benches. */
import * as v from 'valibot'
import { keepNothing } from '../src/plugin/index.ts'
import type { GatewayInfo, Logger, PluginDefinition, PluginInstance, PluginKind } from '../src/plugin/types.ts'

export const QUIET_LOG: Logger = { debug() {}, info() {}, warn() {}, error() {} }

export interface BenchSetup {
  readonly options?: Record<string, unknown>
  readonly signal?: AbortSignal
  readonly log?: Logger
  readonly gateway?: GatewayInfo
  /** Default: the current directory. */
  readonly baseDir?: string
  readonly stateDir?: string
}

export async function setUpPlugin<K extends PluginKind>(def: PluginDefinition<K>, setup: BenchSetup = {}): Promise<PluginInstance<K>> {
  return await def.setup({
    name: def.name,
    options: v.parse(def.options, setup.options ?? {}),
    signal: setup.signal ?? new AbortController().signal,
    log: setup.log ?? QUIET_LOG,
    gateway: setup.gateway ?? { backends: [] },
    baseDir: setup.baseDir ?? process.cwd(),
    ...(setup.stateDir !== undefined ? { stateDir: setup.stateDir } : {}),
    keep: keepNothing,
  })
}
