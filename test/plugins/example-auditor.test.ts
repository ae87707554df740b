/** The example json-auditor loads by path through the gateway's plugin loader and scores JSON answers. */
import { describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import type { AuditAnswer, ChatRequest } from 'switchyard/plugin'
import { resolvePlugins, setupPlugins } from '../../src/plugin/load.ts'

const root = resolve(import.meta.dir, '../..')
const request = (content: string, body: Record<string, unknown> = {}): ChatRequest => ({
  protocol: 'ollama', operation: 'chat', model: 'auto', stream: false, body, messages: [{ role: 'user', content }],
})
const answer = (text: string): AuditAnswer => ({ text, model: 'qwen2.5-coder:1.5b', finishReason: 'stop' })
const signal = new AbortController().signal

async function loadExample() {
  const resolved = await resolvePlugins([{ use: './plugins/examples/json-auditor.ts', options: {}, enabled: true }], new Map(), root)
  const plugins = await setupPlugins(resolved, { backends: [] }, root)
  const [auditor] = plugins.of('auditor')
  if (!auditor) throw new Error('json-auditor did not load')
  return { plugins, auditor }
}

describe('example json-auditor', () => {
  test('loads from its path as an auditor named json-auditor', async () => {
    const { plugins, auditor } = await loadExample()
    expect(auditor.name).toBe('json-auditor')
    expect(plugins.all.map((p) => p.kind)).toEqual(['auditor'])
    await plugins.close()
  })

  test('a JSON request whose answer does not parse scores 0; one that parses (bare or in a json fence) scores 1', async () => {
    const { plugins, auditor } = await loadExample()
    const { audit } = auditor.instance
    const ollamaFormat = request('List three colors.', { format: 'json' })
    const bad = await audit(ollamaFormat, answer('{"colors": ["red", "green"'), signal)
    expect(bad.score).toBe(0)
    expect(bad.reasons[0]).toStartWith('asked for JSON, answer does not parse: ')
    expect(await audit(ollamaFormat, answer('{"colors": ["red", "green", "blue"]}'), signal)).toEqual({ score: 1, reasons: [] })
    const openaiSchema = request('List three colors.', { response_format: { type: 'json_schema', json_schema: { name: 'c' } } })
    expect((await audit(openaiSchema, answer('Sure! red, green, blue'), signal)).score).toBe(0)
    const saysJson = request('Give me the colors as JSON.')
    expect(await audit(saysJson, answer('Here:\n```json\n["red", "green", "blue"]\n```'), signal)).toEqual({ score: 1, reasons: [] })
    await plugins.close()
  })

  test('requests that do not ask for JSON pass untouched', async () => {
    const { plugins, auditor } = await loadExample()
    expect(await auditor.instance.audit(request('Name three colors.'), answer('red, green, blue'), signal)).toEqual({ score: 1, reasons: [] })
    await plugins.close()
  })
})
