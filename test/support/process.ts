/** Run the real gateway CLI (`bun src/main.ts`) as a child process on a free port and read its log. */
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')

export interface GatewayProcess {
  readonly url: string
  readonly proc: ReturnType<typeof Bun.spawn>
  /** Everything the process has written to stderr so far. */
  log(): string
  [Symbol.asyncDispose](): Promise<void>
}

export async function startGatewayProcess(configPath: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const proc = Bun.spawn([process.execPath, 'src/main.ts', '--config', configPath, '--port', '0'], {
    cwd: ROOT, env: { ...process.env, ...env }, stdout: 'ignore', stderr: 'pipe',
  })
  let text = ''
  const decoder = new TextDecoder()
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader()
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      text += decoder.decode(value, { stream: true })
    }
  })()
  const deadline = Date.now() + 4_000
  let url: string | undefined
  while (!url && Date.now() < deadline) {
    url = text.match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1]
    if (!url) await Bun.sleep(20)
  }
  if (!url) {
    proc.kill()
    throw new Error(`gateway did not start:\n${text}`)
  }
  return {
    url, proc, log: () => text,
    async [Symbol.asyncDispose]() {
      proc.kill('SIGKILL')
      await proc.exited
    },
  }
}
