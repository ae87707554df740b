/** CLI entry: flags and env, load config, build the gateway, Bun.serve, signals. */
import { parseArgs } from 'node:util'
import { builtinPlugins } from '../plugins/index.ts'
import { formatBanner } from './cli/banner.ts'
import { createColors, shouldColor } from './cli/color.ts'
import { startProgress } from './cli/progress.ts'
import { findConfigPath, loadConfig } from './config/load.ts'
import { createFileWatcher, watchedFiles } from './config/watch.ts'
import { ConfigError, messageOf } from './errors.ts'
import { createGateway } from './gateway.ts'
import { createLogger } from './log.ts'

const log = createLogger('switchyard')

function parseFlags(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  return values
}

const USAGE = `usage: bun start [--config FILE] [--port N] [--host H]
  --config FILE   config file (.json or .ts); default: $SWITCHYARD_CONFIG, ./switchyard.config.json, ./switchyard.config.ts
  --port N        listen port (default: $PORT, config server.port, 3333)
  --host H        listen address (default: config server.host, 127.0.0.1)`

/** Run the gateway until a signal stops it; `argv` is the flags alone (the binary's entry passes them too). */
export async function main(argv: readonly string[]): Promise<void> {
  let flags: ReturnType<typeof parseFlags>
  try {
    flags = parseFlags(argv)
  } catch (error) {
    console.error(`${messageOf(error)}\n${USAGE}`)
    process.exit(2)
  }
  if (flags.help) {
    console.log(USAGE)
    return
  }
  const path = findConfigPath(flags.config)
  let loaded: Awaited<ReturnType<typeof loadConfig>>
  let gateway: Awaited<ReturnType<typeof createGateway>>
  /** Validate the config file again and swap it in; a bad one is logged and rejected, the old one keeps serving. */
  const reload = async (): Promise<void> => {
    try {
      const next = await loadConfig(findConfigPath(flags.config))
      await gateway.reload(next)
      watchFor(next)
      log.info('config reloaded')
    } catch (error) {
      log.error('config reload rejected; the previous config keeps serving', { error: messageOf(error) })
      throw error
    }
  }
  try {
    loaded = await loadConfig(path)
    const progress = startProgress(`probing ${loaded.config.backends.length} backend(s)`)
    gateway = await createGateway(loaded, builtinPlugins, { reloadFromSource: reload }).catch((error: unknown) => {
      progress.fail('startup failed')
      throw error
    })
    progress.done('backends probed')
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
  const watcher = createFileWatcher(() => void reload().catch(() => {}), log)
  /** `server.watchConfig` as the config now in force says: the config file and the plugin files it names. */
  const watchFor = (current: typeof loaded) => {
    if (!path || !current.config.server.watchConfig) return watcher.watch([])
    const files = watchedFiles(path, current.config, current.baseDir)
    watcher.watch(files)
    log.info('watching for changes', { files: files.join(', ') })
  }
  const { server: serverConfig } = loaded.config
  const port = Number(flags.port ?? process.env.PORT ?? serverConfig.port)
  const hostname = flags.host ?? serverConfig.host
  if (!isLoopback(hostname) && !gateway.deps.auth.required && !serverConfig.allowUnauthenticated) {
    console.error(`refusing to listen on ${hostname} with no API keys: anyone who can reach the port could use the models. Set auth.keys (or auth.keys[].keyEnv), or server.allowUnauthenticated: true to allow it.`)
    await gateway.close()
    process.exit(1)
  }
  let server: ReturnType<typeof Bun.serve>
  try {
    // Model blobs (`ollama create` from a GGUF) stream through at any size; generation bodies have their own cap (maxBodyBytes).
    server = Bun.serve({ port, hostname, idleTimeout: serverConfig.idleTimeoutS, maxRequestBodySize: 2 ** 40, development: false, fetch: gateway.fetch })
  } catch (error) {
    const inUse = (error as { code?: string }).code === 'EADDRINUSE'
    console.error(inUse ? `${hostname}:${port} is already in use; pick another with --port N (or PORT=N)` : `cannot listen on ${hostname}:${port}: ${messageOf(error)}`)
    await gateway.close()
    process.exit(1)
  }
  // Signal handlers go in before the first log line, so a signal right after startup is never the default action.
  process.on('SIGHUP', () => void reload().catch(() => {}))
  watchFor(loaded)
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('shutting down: no new connections, waiting for in-flight requests', { signal })
    const deadline = Bun.sleep(30_000).then(() => log.warn('shutdown deadline reached; closing open connections'))
    await Promise.race([server.stop(false), deadline])
    watcher.close()
    await gateway.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  log.info(`listening on ${server.url}`, { config: path ?? 'built-in default' })
  if (!isLoopback(hostname) && !gateway.deps.auth.required) {
    log.warn('!!! listening on a non-loopback address with no API keys (server.allowUnauthenticated): anyone who can reach this port can use your models. !!!', { host: hostname })
  }
  process.stderr.write(await formatBanner(gateway.deps, server.url.href, createColors(shouldColor(process.stderr)), path))
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

if (import.meta.main) await main(Bun.argv.slice(2))
