import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import def from '../../plugins/tiered-selector/index.ts'
import type { BackendView, ChatRequest, Hooks } from '../../src/plugin/types.ts'
import { keepNothing } from 'switchyard/plugin'

const log = { debug() {}, info() {}, warn() {}, error() {} }

async function selector(options: Record<string, unknown> = {}): Promise<Hooks['selector']> {
  return (await def.setup({ name: def.name, options: v.parse(def.options, options), signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing })) as Hooks['selector']
}

const request = (content = 'hi', maxTokens?: number): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', messages: [{ role: 'user', content }], stream: false, maxTokens, body: {},
})

function backend(name: string, over: Partial<BackendView> = {}): BackendView {
  return {
    name, kind: 'ollama', url: `http://${name}`, up: true, models: [{ name: 'm7', sizeBytes: 4 * 2 ** 30, contextLength: 8_192 }, { name: 'm1' }],
    loaded: [], inFlight: 0, circuit: 'closed', openModels: [], gpus: [], ...over,
  }
}

describe('tiered-selector', () => {
  test('walks candidates in order and skips models no backend serves', async () => {
    const s = await selector()
    const out = await s.select({ request: request(), candidates: ['m33', 'm7'], backends: [backend('a')] }, new AbortController().signal)
    expect(out).toMatchObject({ model: 'm7', backend: 'a' })
    expect(out?.reasons).toContain('m33: on no backend')
  })

  test('prefers a warm backend, then the least loaded, and offers the rest as fallbacks', async () => {
    const s = await selector()
    const backends = [backend('busy', { inFlight: 3 }), backend('idle'), backend('warm', { inFlight: 1, loaded: [{ name: 'm7' }] })]
    const out = await s.select({ request: request(), candidates: ['m7'], backends }, new AbortController().signal)
    expect(out?.backend).toBe('warm')
    expect(out?.fallbacks).toEqual([{ model: 'm7', backend: 'idle' }, { model: 'm7', backend: 'busy' }])
  })

  test('a backend at maxConcurrency goes last', async () => {
    const s = await selector()
    const backends = [backend('full', { inFlight: 2, maxConcurrency: 2, loaded: [{ name: 'm7' }] }), backend('free', { inFlight: 5 })]
    expect((await s.select({ request: request(), candidates: ['m7'], backends }, new AbortController().signal))?.backend).toBe('free')
  })

  test('drops down, circuit-open and per-model circuit-open backends, saying why', async () => {
    const s = await selector()
    const backends = [backend('down', { up: false }), backend('open', { circuit: 'open' }), backend('sick', { openModels: ['m7'] }), backend('ok')]
    const out = await s.select({ request: request(), candidates: ['m7'], backends }, new AbortController().signal)
    expect(out?.backend).toBe('ok')
    expect(out?.reasons).toEqual(expect.arrayContaining(['m7@down: down', 'm7@open: circuit open', 'm7@sick: circuit open for this model']))
    expect(await s.select({ request: request(), candidates: ['m7'], backends: backends.slice(0, 3) }, new AbortController().signal)).toBeUndefined()
  })

  test('a cold model that does not fit in free VRAM is skipped; a loaded one stays', async () => {
    const s = await selector()
    const gpus = [{ index: 0, memoryTotalMiB: 8_192, memoryUsedMiB: 6_144 }]
    const out = await s.select({ request: request(), candidates: ['m7'], backends: [backend('small', { gpus }), backend('big', { inFlight: 4 })] }, new AbortController().signal)
    expect(out?.backend).toBe('big')
    expect(out?.reasons.join(' ')).toContain('small: does not fit in free VRAM (needs 4506 MiB, 2048 MiB free)')
    const warm = await s.select({ request: request(), candidates: ['m7'], backends: [backend('small', { gpus, loaded: [{ name: 'm7' }] })] }, new AbortController().signal)
    expect(warm?.backend).toBe('small')
  })

  test('a prompt longer than the model context is not sent there', async () => {
    const s = await selector()
    const long = request('x'.repeat(40_000))
    const out = await s.select({ request: long, candidates: ['m7', 'm1'], backends: [backend('a')] }, new AbortController().signal)
    expect(out?.model).toBe('m1')
    expect(out?.reasons.join(' ')).toContain('m7@a: prompt of ~10000 tokens exceeds its 8192-token context')
  })

  test('backends never probed are used only after known ones, and not at all with allowUnknown false', async () => {
    const backends = [backend('new', { up: undefined }), backend('known', { inFlight: 9 })]
    expect((await (await selector()).select({ request: request(), candidates: ['m7'], backends }, new AbortController().signal))?.backend).toBe('known')
    const strict = await selector({ allowUnknown: false })
    const out = await strict.select({ request: request(), candidates: ['m7'], backends: [backends[0]!] }, new AbortController().signal)
    expect(out).toBeUndefined()
  })
})
