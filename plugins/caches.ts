/** The built-in cache plugins, for the registry in plugins/index.ts. */
import memoryCache from './memory-cache/index.ts'
import redisCache from './redis-cache/index.ts'
import semanticCache from './semantic-cache/index.ts'

export const cachePlugins = [memoryCache, redisCache, semanticCache] as const
