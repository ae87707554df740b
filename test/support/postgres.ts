/** Start a real PostgreSQL (Debian's binaries) in a temp dir on a free loopback port; stop, kill or restart it mid-test. */
import { SQL } from 'bun'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.ts'

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`; trust auth, so no password. */
  readonly url: string
  readonly port: number
  /**
   * Immediate shutdown (SIGQUIT): every connection drops at once and the next start recovers from the WAL, as after a
   * crash. Not SIGKILL: the server's orphaned backends would stay zombies where nothing reaps them. The data dir stays.
   */
  kill(): void
  /** Starts the server again on the same port and data dir (after `kill()`). */
  restart(): Promise<void>
  /** Shuts the server down and removes its temp dir. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const PG_ROOT = '/usr/lib/postgresql'

/** The newest installed `/usr/lib/postgresql/<version>/bin` that has both initdb and postgres. */
function binDir(): string {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  for (const version of versions) {
    const bin = join(PG_ROOT, version, 'bin')
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin
  }
  throw new Error(`PostgreSQL is not installed (no ${PG_ROOT}/<version>/bin/postgres): install Debian's postgresql package (apt-get install -y postgresql) to run the Postgres history tests`)
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` system user the Debian package creates. */
function runAs(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] }
  const entry = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === 'postgres')
  if (!entry) throw new Error('running as root and there is no postgres user: install Debian\'s postgresql package (apt-get install -y postgresql)')
  return { prefix: [Bun.which('runuser') ?? '/usr/sbin/runuser', '-u', 'postgres', '--'], uid: Number(entry[2]), gid: Number(entry[3]) }
}

/** Fails (never skips) when PostgreSQL is missing: these tests are part of the suite. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir()
  const user = runAs()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-pg-'))
  const data = join(dir, 'data')
  mkdirSync(data, { mode: 0o700 })
  if (user.uid !== undefined) {
    chownSync(dir, user.uid, user.gid!)
    chownSync(data, user.uid, user.gid!)
  }
  const log = join(dir, 'postgres.log')
  try {
    const init = Bun.spawnSync([...user.prefix, join(bin, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], { stdout: 'pipe', stderr: 'pipe' })
    if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`)
    // Trust on the loopback address and the private socket only.
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n')
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }

  let proc: Bun.Subprocess | undefined
  let port = 0
  const spawn = () => {
    proc = Bun.spawn([
      ...user.prefix, join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=100', '-c', 'shared_buffers=32MB',
    ], { stdout: 'ignore', stderr: Bun.file(log) })
    return proc
  }
  /** The postmaster's own pid: under runuser the spawned process is only its parent. */
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      return Number.isInteger(pid) && pid > 0 ? pid : undefined
    } catch {
      return undefined
    }
  }
  // Read once the server answers, so a stale file of a killed server never names someone else's process.
  let pid: number | undefined
  // Only the postmaster is signalled: runuser, its parent, reaps it and exits (an orphan could stay a zombie and
  // hold its lock file).
  const signal = (sig: 'SIGKILL' | 'SIGINT' | 'SIGQUIT') => {
    if (pid === undefined) return void proc?.kill(sig)
    try {
      process.kill(pid, sig)
    } catch {
      // Already gone.
    }
  }
  const url = () => `postgres://postgres@127.0.0.1:${port}/postgres`
  const logTail = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(-2_000) : '')

  /** Starts the server and waits until it answers a query; false when it exited or did not answer in time. */
  const launch = async (): Promise<boolean> => {
    const started = spawn()
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (started.exitCode !== null) return false
      const sql = new SQL(url(), { max: 1, connectionTimeout: 1 })
      try {
        await sql`SELECT 1`
        pid = postmasterPid()
        return true
      } catch {
        // Not listening yet, or still starting up.
      } finally {
        await sql.close({ timeout: 0 })
      }
      await Bun.sleep(25)
    }
    // It runs but does not answer: its lock file is its own by now.
    pid = postmasterPid()
    signal('SIGKILL')
    await started.exited
    return false
  }

  for (let attempt = 0; ; attempt++) {
    port = freePort()
    if (await launch()) break
    // Another process may have taken the port between probing and binding: try another.
    if (attempt >= 3) {
      const detail = logTail()
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`postgres did not start: ${detail}`)
    }
  }

  const stop = async () => {
    signal('SIGINT')
    await proc?.exited
    rmSync(dir, { recursive: true, force: true })
  }
  return {
    get url() {
      return url()
    },
    get port() {
      return port
    },
    kill: () => signal('SIGQUIT'),
    async restart() {
      await proc?.exited
      // Retried: a server that has only just gone may still hold its shared memory for a moment.
      for (let attempt = 0; attempt < 20; attempt++) if (await launch()) return
      throw new Error(`postgres did not restart: ${logTail()}`)
    },
    stop,
    [Symbol.asyncDispose]: stop,
  }
}
