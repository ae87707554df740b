/** `bun run explain "PROMPT"`: the routing decision for a prompt (class, confidence, reasons, model), no model called. */
import { parseArgs } from 'node:util'
import { builtinPlugins } from '../plugins/index.ts'
import { createColors } from '../src/cli/color.ts'
import { ExplainRequestError, type ExplainTarget, formatExplain, requestExplain } from '../src/cli/explain-report.ts'
import { startProgress } from '../src/cli/progress.ts'
import { findConfigPath, loadConfig } from '../src/config/load.ts'
import { adminKeyOf } from '../src/http/auth.ts'
import { ConfigError, messageOf } from '../src/errors.ts'
import { createGateway } from '../src/gateway.ts'
import { createLogger } from '../src/log.ts'

const USAGE = `usage: bun run explain [--config FILE | --url URL] [--model NAME] [--key KEY] [--json] PROMPT...
  --config FILE  config to load, as \`bun start\` does (default: $SWITCHYARD_CONFIG, ./switchyard.config.json, ./switchyard.config.ts)
  --url URL      ask a running gateway's /router/explain instead of building one in-process
  --model NAME   model or route to resolve (default: auto)
  --key KEY      admin key for --url (default: $SWITCHYARD_ADMIN_KEY)
  --json         print the raw decision as JSON`

/** Print the decision for the prompt in `argv`; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    console.error(`${messageOf(error)}\n${USAGE}`)
    return 2
  }
  const { values: flags, positionals } = parsed
  if (flags.help) {
    console.log(USAGE)
    return 0
  }
  const prompt = positionals.join(' ').trim()
  if (!prompt) {
    console.error(`no prompt given\n${USAGE}`)
    return 2
  }
  const model = flags.model ?? 'auto'
  try {
    const result = flags.url
      ? await requestExplain({ url: flags.url, key: flags.key ?? process.env.SWITCHYARD_ADMIN_KEY }, prompt, model)
      : await explainInProcess(flags.config, prompt, model)
    console.log(flags.json ? JSON.stringify(result, null, 2) : formatExplain(result, prompt, createColors()))
    return result.model ? 0 : 1
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ExplainRequestError) {
      console.error(error.message)
      return 1
    }
    throw error
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      model: { type: 'string', short: 'm' },
      key: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  })
}

async function explainInProcess(configFlag: string | undefined, prompt: string, model: string) {
  // Probe warnings would bury the answer; the decision itself says which backends are down.
  process.env.SWITCHYARD_LOG_LEVEL ??= 'error'
  const loaded = await loadConfig(findConfigPath(configFlag))
  const progress = startProgress('probing backends')
  const gateway = await createGateway(loaded, builtinPlugins, { log: createLogger('explain') })
  progress.done(`probed ${loaded.config.backends.length} backend(s)`)
  try {
    const target: ExplainTarget = { gateway, key: adminKeyOf(loaded.config.auth) }
    return await requestExplain(target, prompt, model)
  } finally {
    await gateway.close()
  }
}

if (import.meta.main) process.exit(await main(Bun.argv.slice(2)))
