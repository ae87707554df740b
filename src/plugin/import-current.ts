/** Plugin files: telling a path from a built-in name, and loading them so that a reload sees their current contents. */
import { statSync } from 'node:fs'

/**
 * Import a module file as it is on disk now: a file edited since it was last imported is loaded again (so a config
 * reload picks up a changed plugin), an unchanged one comes from the module cache. Only this file is fresh: modules
 * it imports in turn are cached as usual.
 */
export async function importCurrent(path: string): Promise<unknown> {
  const { mtimeMs, size } = statSync(path)
  return import(`${path}?v=${mtimeMs}-${size}`)
}

/** A `use` that names a file (`./x.ts`, `../x.ts`, `/abs/x.ts`) rather than a built-in plugin. */
export function isPluginPath(use: string): boolean {
  return /^(\.{1,2})?\//.test(use)
}
