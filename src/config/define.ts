/** `defineConfig`: typed identity for `switchyard.config.ts` files. */
import type { ConfigInput } from './schema.ts'

export const defineConfig = (config: ConfigInput): ConfigInput => config
