/** Loading plugin files so that a config reload sees their current contents. */
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
