/** Public plugin SDK, imported by plugins as `switchyard/plugin`. */
import type * as v from 'valibot'
import type { PluginDefinition, PluginKind } from './types.ts'

export type * from './types.ts'
export { BACKEND_KINDS, EXPLICIT_LABEL_SOURCES, LABEL_SOURCES, OPERATIONS, PLUGIN_KINDS, PROTOCOLS, TASK_CLASSES, classAbove, classBelow, classRank, isCacheHit, isFinalEvent } from './types.ts'
export { CHARS_PER_TOKEN, estimatePromptTokens, requestText, lastUserIndex, lastUserText } from './text.ts'
export { describeFetchError, httpGet, parseJson, type HttpResult } from './http-get.ts'

/** Typed identity: gives a plugin definition its types without a cast. */
export const definePlugin = <K extends PluginKind, S extends v.GenericSchema>(d: PluginDefinition<K, S>) => d
export { cosine, embedTexts, type EmbedTarget } from './embed.ts'
export { createRedisConnection, redactedUrl, redisStateBackend, type RedisConnection, type RedisConnectionOptions } from './redis-connection.ts'
export { messageOf } from '../errors.ts'
export { backendTarget, postJson, type BackendTarget } from './backend-target.ts'
export { StoredCacheEntry } from './cache-entry.ts'

/** `keep` for a plugin set up outside a gateway (a test, a script): nothing outlives the instance. */
export const keepNothing = <T>(_key: string, create: () => T): T => create()
export { importCurrent, isPluginPath } from './import-current.ts'
