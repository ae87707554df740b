/** Run a repo script (`scripts/*.ts`) with Bun in a child process; config files go to a temp dir. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')

export interface ScriptResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export async function runScript(script: string, args: readonly string[], env: Record<string, string> = {}): Promise<ScriptResult> {
  const proc = Bun.spawn([process.execPath, join(ROOT, 'scripts', script), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', SWITCHYARD_CONFIG: '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr }
}

export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'))
  const path = join(dir, 'switchyard.config.json')
  writeFileSync(path, JSON.stringify(config))
  return path
}

/** A fake nvidia-smi printing `csv` whatever it is asked, in a directory to put first on PATH. */
export function fakeNvidiaSmiDir(csv: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-smi-'))
  const path = join(dir, 'nvidia-smi')
  writeFileSync(join(dir, 'answer.csv'), csv)
  writeFileSync(path, `#!/bin/sh\nexec /bin/cat '${join(dir, 'answer.csv')}'\n`, { mode: 0o755 })
  return dir
}
