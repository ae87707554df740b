/** Micro-benchmarks of the request path's hot functions (mitata, ns/op): `bun bench/micro.ts` or `bun run bench --micro`. */
import { bench, group, run } from 'mitata'
import { builtinPlugins } from '../plugins/index.ts'
import { cacheKey } from '../src/pipeline/cache.ts'
import { buildAutoRoute } from '../src/pipeline/auto-tier.ts'
import type { BackendView, ChatRequest, PluginDefinition } from '../src/plugin/types.ts'
import { parseOllama } from '../src/protocols/ollama/parse.ts'
import { parseOpenAI } from '../src/protocols/openai/parse.ts'
import { EXPLICIT_MODEL, MARKER, PROMPT, bodyTemplate } from './scenarios.ts'
import { LONG_SESSION } from './classify-long.ts'
import { setUpPlugin } from './plugin-setup.ts'
import { messageOf } from '../src/errors.ts'

const openaiJson = JSON.parse(bodyTemplate('openai', 'auto', true).replace(MARKER, '42')) as Record<string, unknown>
const ollamaJson = JSON.parse(bodyTemplate('ollama', 'auto', true).replace(MARKER, '42')) as Record<string, unknown>
const request: ChatRequest = parseOpenAI('chat', openaiJson)
const longRequest: ChatRequest = parseOpenAI('chat', {
  ...openaiJson,
  messages: Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${PROMPT} `.repeat(8) })),
})
// A long coding session: a system prompt and 50 turns of 2 KB (prose with file names, fenced Python), 100 KB in all.
const sessionRequest: ChatRequest = LONG_SESSION

const models = ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', 'llama3.2:3b', 'deepseek-coder:33b'].map((name) => ({ name }))
const backends: BackendView[] = ['gpu0', 'gpu1', 'vllm'].map((name, i) => ({
  name, kind: i === 2 ? 'openai' : 'ollama', url: `http://127.0.0.1:${11500 + i}`, up: true, models, loaded: [{ name: EXPLICIT_MODEL }],
  inFlight: i, circuit: 'closed', openModels: [], gpus: [],
}))

const controller = new AbortController()

/** A plugin set up the way the loader does it; undefined when it cannot start offline (needs a model server). */
async function setUp(def: PluginDefinition): Promise<Record<string, unknown> | undefined> {
  try {
    return (await setUpPlugin(def, { signal: controller.signal })) as Record<string, unknown>
  } catch (error) {
    console.error(`skipped ${def.name}: ${messageOf(error)}`)
    return undefined
  }
}

group('parse', () => {
  bench('parseOpenAI (chat)', () => parseOpenAI('chat', openaiJson))
  bench('parseOllama (chat)', () => parseOllama('chat', ollamaJson))
  bench('JSON.parse + parseOpenAI', () => parseOpenAI('chat', JSON.parse(JSON.stringify(openaiJson)) as Record<string, unknown>))
})

await group('classify', async () => {
  for (const def of builtinPlugins.values()) {
    if (def.kind !== 'classifier') continue
    const instance = await setUp(def)
    const classify = instance?.classify as ((req: ChatRequest, signal: AbortSignal) => unknown) | undefined
    if (!classify) continue
    // Classifiers that call a model server offline would measure a connection error; leave them out.
    const probe = await Promise.race([Promise.resolve(classify(request, controller.signal)).then(() => 'ok', () => 'error'), Bun.sleep(2_000).then(() => 'timeout')])
    if (probe !== 'ok') {
      console.error(`skipped ${def.name}: classify ${probe} offline`)
      continue
    }
    bench(`${def.name} (1 message)`, () => classify(request, controller.signal))
    bench(`${def.name} (12 messages)`, () => classify(longRequest, controller.signal))
    bench(`${def.name} (50 turns, 100 KB)`, () => classify(sessionRequest, controller.signal))
  }
})

await group('select', async () => {
  const def = builtinPlugins.get('tiered-selector')
  const instance = def ? await setUp(def) : undefined
  const select = instance?.select as ((input: unknown, signal: AbortSignal) => unknown) | undefined
  if (select) {
    const input = { request, route: 'auto', candidates: ['qwen2.5-coder:7b', EXPLICIT_MODEL], backends }
    bench('tiered-selector select', () => select(input, controller.signal))
  }
  bench('buildAutoRoute (per request when no routes are configured)', () => buildAutoRoute(backends))
})

group('cache key', () => {
  bench('cacheKey (1 message)', () => cacheKey(request))
  bench('cacheKey (12 messages)', () => cacheKey(longRequest))
})

await run({ format: 'mitata', colors: process.stdout.isTTY === true })
controller.abort()
