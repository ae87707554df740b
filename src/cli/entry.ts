/** The standalone binary's entry (`npm run build`): the gateway by default, or the simulator, `explain` or `doctor`. */
import { serveSdkModules } from './sdk-modules.ts'

const USAGE = `usage: switchyard [--config FILE] [--port N] [--host H]   run the gateway (as \`bun start\`)
       switchyard sim [--port N] [--instant] ...           the simulated backend (as \`bun run sim\`)
       switchyard explain [--config FILE] PROMPT...        the routing decision for a prompt (as \`bun run explain\`)
       switchyard doctor [--config FILE]                   check the config and backends (as \`bun run doctor\`)
each command takes --help (the gateway's: switchyard --config FILE --help)`

/** Dispatch on the first argument; the commands' modules load only when chosen, so each starts as fast as its script. */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'sim':
      return (await import('../sim/main.ts')).runSimCommand(rest)
    case 'explain':
      serveSdkModules()
      return process.exit(await (await import('../../scripts/explain.ts')).main(rest))
    case 'doctor':
      serveSdkModules()
      return process.exit(await (await import('../../scripts/doctor.ts')).main(rest))
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE)
      return
    default:
      serveSdkModules()
      return (await import('../main.ts')).main(argv)
  }
}

if (import.meta.main) await main(Bun.argv.slice(2))
