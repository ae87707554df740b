/** Start a real gateway (Bun.serve on 127.0.0.1 port 0) over a config object, with the built-in plugins. */
import { builtinPlugins } from '../../plugins/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import { type Gateway, createGateway } from '../../src/gateway.ts'
import { createLogger } from '../../src/log.ts'

export interface TestGateway {
  readonly url: string
  readonly gateway: Gateway
  readonly logs: string[]
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Probes run every 200 ms unless the config says otherwise, so tests see health changes quickly. */
export async function startGateway(raw: Record<string, unknown>, baseDir = process.cwd()): Promise<TestGateway> {
  const logs: string[] = []
  const config = parseConfig(raw)
  const gateway = await createGateway({ config, path: undefined, baseDir }, builtinPlugins, {
    log: createLogger('gateway', (line) => void logs.push(line)),
  })
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 30, fetch: gateway.fetch })
  const close = async () => {
    await server.stop(true)
    await gateway.close()
  }
  return { url: `http://127.0.0.1:${server.port}`, gateway, logs, close, [Symbol.asyncDispose]: close }
}

export const fastProbes = [
  { use: 'ollama-probe', options: { intervalMs: 200, timeoutMs: 500 } },
  { use: 'openai-probe', options: { intervalMs: 200, timeoutMs: 500 } },
]
