/** CLI for `bun run sim`: parses flags, starts the simulator, prints where it listens, stops on signals. */
import { parseArgs } from 'node:util'
import { startSimulator } from './server.ts'
import { messageOf } from '../errors.ts'

const USAGE = 'usage: bun run sim [--port N] [--host H] [--models a,b,c] [--speed X] [--instant] [--tokens N] [--quality]'

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(2)
}

function positiveNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) fail(`--${flag} must be a positive number, got "${text}"`)
  return value
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '11434' },
      host: { type: 'string', default: '127.0.0.1' },
      models: { type: 'string' },
      speed: { type: 'string' },
      instant: { type: 'boolean', default: false },
      tokens: { type: 'string' },
      quality: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port must be 0..65535, got "${values.port}"`)
  const models = values.models?.split(',').map((m) => m.trim()).filter(Boolean)
  const tokens = positiveNumber('tokens', values.tokens)
  const sim = startSimulator({
    port,
    hostname: values.host,
    ...(models && models.length > 0 ? { models } : {}),
    ...(values.speed !== undefined ? { speed: positiveNumber('speed', values.speed) ?? 1 } : {}),
    instant: values.instant,
    ...(tokens !== undefined ? { outputTokens: Math.round(tokens) } : {}),
    quality: values.quality,
  })
  const pace = `${values.instant ? 'instant' : `speed x${values.speed ?? 1}`}${values.quality ? ', quality model' : ''}`
  console.log(`switchyard sim listening on ${sim.url} (${pace}) models: ${sim.models.join(', ')}`)
  const stop = () => {
    sim.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

/** `main` as a command: a bad flag or a failed start prints the usage and exits 2 (the binary's `sim` runs this too). */
export const runSimCommand = (argv: readonly string[]): Promise<void> => main(argv).catch((error: unknown) => fail(messageOf(error)))

if (import.meta.main) void runSimCommand(Bun.argv.slice(2))
