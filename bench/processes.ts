/** Child processes under test: free ports, core pinning with taskset, readiness, CPU time and RSS from /proc. */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import type { Subprocess } from 'bun'

/** Server under test on one core; load generator, upstream and sinks on the other. */
export const SERVER_CORE = 1
export const LOAD_CORE = 0

const TICKS_PER_SECOND = 100

export function hasTaskset(): boolean {
  return navigator.hardwareConcurrency >= 2 && Bun.which('taskset') !== null
}

/** `taskset -c N cmd...` where pinning is possible, else the command unchanged. */
export function pinned(core: number, cmd: readonly string[]): string[] {
  return hasTaskset() ? ['taskset', '-c', String(core), ...cmd] : [...cmd]
}

export { freePort } from '../test/support/ports.ts'

/** Every Bun process the bench starts: Bun's fetch keeps at most 256 requests in flight otherwise (1,000 streams need more). */
export const BUN_ENV = { BUN_CONFIG_MAX_HTTP_REQUESTS: '4096', SWITCHYARD_LOG_LEVEL: 'warn' }

export interface Child {
  readonly name: string
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

export interface StartOptions {
  readonly name: string
  readonly cmd: readonly string[]
  readonly url: string
  readonly core?: number
  readonly env?: Record<string, string>
  /** Path polled until the server answers (any status). */
  readonly readyPath?: string
  readonly readyTimeoutMs?: number
}

/** utime + stime in milliseconds from a `/proc/.../stat` line. */
function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After the comm field: state is index 0, utime 11, stime 12 (fields 14 and 15 of proc(5)).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
}

export function cpuMsOf(pid: number): number {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'))
}

/** CPU milliseconds of a process per thread name (numbers taken out of the names, so a pool sums as one). */
export function threadCpuMsOf(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+/g, '').trim()
    out.set(name, (out.get(name) ?? 0) + statCpuMs(stat))
  }
  return out
}

export function rssKbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  return m ? Number(m[1]) : Number.NaN
}

export async function startChild(options: StartOptions): Promise<Child> {
  const cmd = options.core === undefined ? [...options.cmd] : pinned(options.core, options.cmd)
  const stderr: string[] = []
  const proc: Subprocess = Bun.spawn(cmd, {
    env: { ...process.env, ...options.env },
    stdout: 'ignore',
    stderr: 'pipe',
  })
  void collect(proc.stderr as ReadableStream<Uint8Array>, stderr)
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000)
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${options.name} exited with ${proc.exitCode}: ${stderr.join('').slice(-2000)}`)
    const ok = await fetch(options.url + (options.readyPath ?? '/'), { signal: AbortSignal.timeout(1_000) }).then(
      async (r) => (await r.arrayBuffer(), true),
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) {
      proc.kill()
      throw new Error(`${options.name} did not answer at ${options.url} within the deadline: ${stderr.join('').slice(-2000)}`)
    }
    await Bun.sleep(100)
  }
  const pid = proc.pid
  return {
    name: options.name,
    url: options.url,
    pid,
    async stop() {
      if (proc.exitCode !== null) return
      proc.kill('SIGTERM')
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3_000).then(() => false)])
      if (!exited) proc.kill('SIGKILL')
    },
  }
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder()
  let kept = 0
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true })
    // Keep the tail only: a chatty child must not grow the bench's memory.
    into.push(text)
    kept += text.length
    while (kept > 20_000 && into.length > 1) kept -= (into.shift() as string).length
  }
}

export function cpuModel(): string {
  if (!existsSync('/proc/cpuinfo')) return 'unknown'
  const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))
  return m?.[1]?.trim() ?? 'unknown'
}
