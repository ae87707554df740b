/** Start a real redis-server on a free loopback port for a test; stop it (or kill it mid-test) through the handle. */
import { RedisClient } from 'bun'
import { freePort } from './ports.ts'

export interface TestRedis {
  readonly url: string
  readonly port: number
  /** SIGKILL: the server vanishes without a goodbye, as in a crash. */
  kill(): Promise<void>
  /** SIGSTOP / SIGCONT: the server hangs with its connections open, then carries on. */
  pause(): void
  resume(): void
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Fails (never skips) when redis-server is missing: these tests are part of the suite. */
/** `port` restarts a server where a killed one was; by default a free port is picked. */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const binary = Bun.which('redis-server')
  if (!binary) throw new Error('redis-server is not on PATH: install it (apt-get install -y redis-server) to run the Redis cache tests')
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? freePort()
    const proc = Bun.spawn([binary, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdout: 'pipe', stderr: 'pipe',
    })
    const url = `redis://127.0.0.1:${port}`
    if (await ready(url, proc)) {
      const kill = async () => {
        proc.kill('SIGKILL')
        await proc.exited
      }
      return {
        url, port, kill, close: kill, [Symbol.asyncDispose]: kill,
        pause: () => void proc.kill('SIGSTOP'),
        resume: () => void proc.kill('SIGCONT'),
      }
    }
    proc.kill('SIGKILL')
    await proc.exited
    // Another process may have taken the port between probing and binding: try another.
    if (attempt >= 4 || options.port !== undefined) throw new Error(`redis-server did not start: ${await new Response(proc.stdout).text()}`)
  }
}

async function ready(url: string, proc: Bun.Subprocess): Promise<boolean> {
  const deadline = Date.now() + 3_000
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return false
    const client = new RedisClient(url, { connectionTimeout: 200, autoReconnect: false, enableOfflineQueue: false })
    try {
      await client.connect()
      if ((await client.send('PING', [])) === 'PONG') return true
    } catch {
      // Not listening yet.
    } finally {
      client.close()
    }
    await Bun.sleep(20)
  }
  return false
}
