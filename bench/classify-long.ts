/** The long-conversation classification row: the default classifier on a 50-turn, 100 KB coding session, in this process. */
import { builtinPlugins } from '../plugins/index.ts'
import type { ChatRequest, PluginDefinition } from '../src/plugin/types.ts'
import { parseOpenAI } from '../src/protocols/openai/parse.ts'
import { setUpPlugin } from './plugin-setup.ts'
import { percentile, sortedCopy } from './summary.ts'

const sessionCode = Array.from({ length: 40 }, (_, i) => `def step_${i}(queue, lock):\n    with lock:\n        return queue.pop()`).join('\n')

/** A system prompt and 50 turns of 2 KB (prose with file names, fenced Python), 100 KB in all. */
export const LONG_SESSION: ChatRequest = parseOpenAI('chat', {
  model: 'auto',
  messages: [{ role: 'system', content: 'You are a careful coding assistant. '.repeat(20) }, ...Array.from({ length: 50 }, (_, i) => (i % 2
    ? { role: 'assistant', content: `Here is the updated src/worker_${i}.py with the retry logic moved into a helper:\n\`\`\`python\n${sessionCode}\n\`\`\`\n`.slice(0, 2000) }
    : { role: 'user', content: `Thanks. Now make the scheduler in src/scheduler_${i}.ts reuse it and keep the tests in tests/test_worker.py passing. ${'Explain each change briefly. '.repeat(70)}`.slice(0, 2000) }))],
})

/** p50 and p99 (µs) of the default classifier on LONG_SESSION, after a warm-up. */
export async function measureLongClassification(samples = 3_000): Promise<{ p50: number; p99: number; chars: number }> {
  const def = builtinPlugins.get('learned-classifier')
  if (!def || def.kind !== 'classifier') throw new Error('learned-classifier is not built in')
  const controller = new AbortController()
  const instance = await setUpPlugin(def as PluginDefinition<'classifier'>, { signal: controller.signal })
  try {
    for (let i = 0; i < 500; i++) instance.classify(LONG_SESSION, controller.signal)
    const us: number[] = []
    for (let i = 0; i < samples; i++) {
      const t = Bun.nanoseconds()
      instance.classify(LONG_SESSION, controller.signal)
      us.push((Bun.nanoseconds() - t) / 1e3)
    }
    const sorted = sortedCopy(us)
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), chars: LONG_SESSION.messages.reduce((n, m) => n + m.content.length, 0) }
  } finally {
    instance.close?.()
    controller.abort()
  }
}
