/** `bun run doctor`: check the config, every backend, the models it names and the GPU; print fixes; exit 1 if broken. */
import { parseArgs } from 'node:util'
import { builtinPlugins } from '../plugins/index.ts'
import { createColors } from '../src/cli/color.ts'
import { type CheckResult, runDoctor } from '../src/cli/doctor-checks.ts'
import { startProgress } from '../src/cli/progress.ts'
import { formatTable } from '../src/cli/table.ts'
import { findConfigPath } from '../src/config/load.ts'
import { messageOf } from '../src/errors.ts'

const USAGE = `usage: bun run doctor [--config FILE] [--json]
  --config FILE  config to check (default: $SWITCHYARD_CONFIG, ./switchyard.config.json, ./switchyard.config.ts)
  --json         print the checks as JSON`

/** Run the checks for the flags in `argv`; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let flags: { config?: string; json?: boolean; help?: boolean }
  try {
    flags = parseArgs({ args: [...argv], options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values
  } catch (error) {
    console.error(`${messageOf(error)}\n${USAGE}`)
    return 2
  }
  if (flags.help) {
    console.log(USAGE)
    return 0
  }
  process.env.SWITCHYARD_LOG_LEVEL ??= 'silent'
  const path = findConfigPath(flags.config)
  let progress: ReturnType<typeof startProgress> | undefined
  const results = await runDoctor(path, { builtins: builtinPlugins, onStep: (label) => void (progress = startProgress(label)) })
  progress?.done('probed backends')
  const failed = results.filter((r) => r.status === 'fail').length
  if (flags.json) console.log(JSON.stringify({ ok: failed === 0, checks: results }, null, 2))
  else console.log(render(results))
  return failed === 0 ? 0 : 1
}

function render(results: readonly CheckResult[]): string {
  const c = createColors()
  const mark = { ok: c.green('✓ ok'), warn: c.yellow('! warn'), fail: c.red(c.bold('✗ FAIL')) }
  const rows = results.map((r) => [mark[r.status], r.check, r.detail, r.fix ? c.cyan(r.fix) : ''])
  const failed = results.filter((r) => r.status === 'fail').length
  const warned = results.filter((r) => r.status === 'warn').length
  const summary = failed
    ? c.red(`${failed} problem(s)${warned ? `, ${warned} warning(s)` : ''}: apply the fixes above, then run \`bun run doctor\` again`)
    : c.green(`all good${warned ? ` (${warned} warning(s))` : ''}: \`bun start\` will route`)
  return `${formatTable(['status', 'check', 'detail', 'fix'], rows, { headerStyle: c.bold })}\n\n${summary}`
}

if (import.meta.main) process.exit(await main(Bun.argv.slice(2)))
