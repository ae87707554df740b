/** `server.watchConfig`: reload when the config file, or a plugin file it names, changes on disk. */
import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { messageOf } from '../errors.ts'
import { isPluginPath } from '../plugin/import-current.ts'
import type { Logger } from '../plugin/types.ts'
import type { Config } from './schema.ts'

/** Editors often write a file twice (or write, then rename into place): changes within this window are one reload. */
const SETTLE_MS = 200

export interface FileWatcher {
  /** Watch exactly these files from now on (an empty list stops watching). */
  watch(paths: readonly string[]): void
  close(): void
}

/** The files a config's reload depends on: the config itself and the plugin files its entries name by path. */
export function watchedFiles(configPath: string, config: Config, baseDir: string): string[] {
  const plugins = (config.plugins ?? []).filter((e) => isPluginPath(e.use)).map((e) => resolve(baseDir, e.use))
  return [resolve(configPath), ...new Set(plugins)]
}

/**
 * Watches the folders that hold the files and filters by name, so a file replaced by a rename (an editor's atomic
 * save) is still seen, where a watch on the file itself would follow the old inode.
 */
export function createFileWatcher(onChange: () => void, log: Logger): FileWatcher {
  const folders = new Map<string, { watcher: FSWatcher; names: Set<string> }>()
  let timer: ReturnType<typeof setTimeout> | undefined
  const changed = () => {
    clearTimeout(timer)
    timer = setTimeout(onChange, SETTLE_MS)
  }
  const close = () => {
    clearTimeout(timer)
    for (const { watcher } of folders.values()) watcher.close()
    folders.clear()
  }
  return {
    watch(paths) {
      const wanted = new Map<string, Set<string>>()
      for (const path of paths) {
        const folder = dirname(path)
        if (!wanted.has(folder)) wanted.set(folder, new Set())
        wanted.get(folder)!.add(basename(path))
      }
      for (const [folder, entry] of folders) {
        if (wanted.has(folder)) continue
        entry.watcher.close()
        folders.delete(folder)
      }
      for (const [folder, names] of wanted) {
        const entry = folders.get(folder)
        if (entry) {
          entry.names.clear()
          for (const name of names) entry.names.add(name)
          continue
        }
        try {
          const watcher = watch(folder, (_event, name) => {
            // Without a name the platform could not say which file: reload to be safe.
            if (name === null || names.has(basename(name.toString()))) changed()
          })
          folders.set(folder, { watcher, names })
        } catch (error) {
          log.warn('cannot watch for config changes', { folder, error: messageOf(error) })
        }
      }
    },
    close,
  }
}
