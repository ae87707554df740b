/** Every generation path knows its tokens: the answer, the CLIENT and SERVER spans, /metrics and the dashboard agree. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { shutdownTracing } from '../../plugins/otel/sdk.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway, type TestGateway } from '../support/gateway.ts'
import { OTLP_KIND, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts'
import { clientTraceparent, describeTree, flushSpans, spansOf, waitForTrace } from '../support/spans.ts'
import { until } from '../support/until.ts'

/** The keyword classifier, not whatever the default is: these tests are about tokens, not classification. */
const probes = [...fastProbes, { use: 'keyword-classifier' }]

// The OpenTelemetry provider is process-wide: one receiver and one provider for this file, removed in afterAll.
let receiver: OtlpReceiver
beforeAll(() => {
  receiver = startOtlpReceiver()
})
afterAll(async () => {
  await shutdownTracing()
  await receiver.close()
})

/** On an Ollama backend, on an OpenAI-compatible one, and on an OpenAI-compatible one that never reports usage. */
const OLLAMA_MODEL = 'qwen2.5-coder:7b'
const OPENAI_MODEL = 'llama3.2:3b'
const BARE_MODEL = 'deepseek-coder:33b'
/** Four words: the simulator counts ceil(4 / 0.75) = 6 prompt tokens; 23 characters estimate ceil(23 / 4) = 6 too. */
const PROMPT = 'count the tokens please'
const PROMPT_TOKENS = 6
const PROMPT_ESTIMATE = Math.ceil(PROMPT.length / 4)
/** What the simulator answers when nothing cuts it short. */
const ANSWER_TOKENS = 24
const messages = [{ role: 'user' as const, content: PROMPT }]

interface Fleet extends AsyncDisposable {
  readonly gw: TestGateway
  readonly ollamaUrl: string
}

async function startFleet(): Promise<Fleet> {
  const ollama = startSimulator({ instant: true, models: [OLLAMA_MODEL] })
  const openai = startSimulator({ instant: true, models: [OPENAI_MODEL] })
  const bare = startSimulator({ instant: true, models: [BARE_MODEL] })
  const gw = await startGateway({
    backends: [
      { name: 'gpu0', kind: 'ollama', url: ollama.url },
      { name: 'vllm', kind: 'openai', url: openai.url },
      // Every request to it carries the fault: a server that ignores stream_options and reports no usage at all.
      { name: 'bare', kind: 'openai', url: bare.url, headers: { 'x-sim-fault': 'no-usage' } },
    ],
    plugins: [...probes, { use: 'prometheus' }, { use: 'dashboard' }, { use: 'memory-cache' }, { use: 'otel', options: { endpoint: receiver.url } }],
  })
  await until(() => gw.gateway.deps.health.views().every((b) => b.up === true), 3_000, 'every backend up')
  return {
    gw,
    ollamaUrl: ollama.url,
    async [Symbol.asyncDispose]() {
      await gw.close()
      await Promise.all([ollama.close(), openai.close(), bare.close()])
    },
  }
}

const openaiClient = (gw: TestGateway, traceparent: string) =>
  new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { traceparent } })
const ollamaClient = (gw: TestGateway, traceparent: string) => new Ollama({ host: gw.url, headers: { traceparent } })

/** `switchyard_tokens_total` by `model backend token_type estimated`. */
async function tokenCounters(gw: TestGateway): Promise<Map<string, number>> {
  const text = await (await fetch(`${gw.url}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^switchyard_tokens_total\{model="([^"]*)",backend="([^"]*)",token_type="([^"]*)",estimated="([^"]*)",team="[^"]*"\} (\S+)$/.exec(line)
    if (m) out.set(`${m[1]} ${m[2]} ${m[3]} ${m[4]}`, Number(m[5]))
  }
  return out
}

interface Expected {
  /** The CLIENT span's operation (`chat {model}`, `text_completion {model}`). */
  readonly operation?: string
  readonly model: string
  readonly backend: string
  readonly input: number
  readonly output: number
  readonly estimated: boolean
}

/**
 * The request of trace `traceId` is counted as `expected` everywhere: on its CLIENT and SERVER spans (with
 * `switchyard.usage.estimated` exactly when estimated), as a move of /metrics' token counters since `before`
 * (under `estimated="true"` or `"false"`), and in the dashboard's decision.
 */
async function expectCounted(gw: TestGateway, traceId: string, before: Map<string, number>, expected: Expected): Promise<void> {
  let all: ReceivedSpan[] = []
  await until(async () => {
    await flushSpans()
    all = spansOf(receiver, traceId)
    return all.some((s) => s.kind === OTLP_KIND.client) && all.some((s) => s.kind === OTLP_KIND.server)
  }, 3_000, `the CLIENT and SERVER spans of trace ${traceId}`)
  const attempt = all.find((s) => s.kind === OTLP_KIND.client)!
  const server = all.find((s) => s.kind === OTLP_KIND.server)!
  expect(attempt.name, describeTree(all)).toBe(`${expected.operation ?? 'chat'} ${expected.model}`)
  const usage = {
    'gen_ai.usage.input_tokens': expected.input,
    'gen_ai.usage.output_tokens': expected.output,
    'switchyard.usage.estimated': expected.estimated ? true : undefined,
  }
  for (const span of [attempt, server]) {
    expect({
      'gen_ai.usage.input_tokens': span.attributes['gen_ai.usage.input_tokens'],
      'gen_ai.usage.output_tokens': span.attributes['gen_ai.usage.output_tokens'],
      'switchyard.usage.estimated': span.attributes['switchyard.usage.estimated'],
    }).toEqual(usage)
  }
  const after = await tokenCounters(gw)
  const moved = (type: string) => {
    const key = `${expected.model} ${expected.backend} ${type} ${expected.estimated}`
    return (after.get(key) ?? 0) - (before.get(key) ?? 0)
  }
  expect({ input: moved('input'), output: moved('output') }).toEqual({ input: expected.input, output: expected.output })
  const id = String(server.attributes['switchyard.request_id'])
  let decision: { inputTokens: number | null; outputTokens: number | null; model: string } | undefined
  await until(async () => {
    const state = (await (await fetch(`${gw.url}/dashboard/state`)).json()) as { decisions: { id: string; inputTokens: number | null; outputTokens: number | null; model: string }[] }
    decision = state.decisions.find((d) => d.id === id)
    return decision !== undefined
  }, 3_000, `decision ${id} on the dashboard`)
  expect(decision).toMatchObject({ model: expected.model, inputTokens: expected.input, outputTokens: expected.output })
}

/** Reads an OpenAI stream: the text, the content chunks, and what usage the client saw (none unless it asked). */
async function readOpenAIStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  let text = ''
  let contentChunks = 0
  const usages: (OpenAI.CompletionUsage | null | undefined)[] = []
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta.content ?? ''
    if (piece) contentChunks++
    text += piece
    if ('usage' in chunk) usages.push(chunk.usage)
  }
  return { text, contentChunks, usages }
}

describe('token accounting: OpenAI clients', () => {
  for (const [backend, model] of [['gpu0', OLLAMA_MODEL], ['vllm', OPENAI_MODEL]] as const) {
    test(`a stream through ${backend} whose client did not ask for usage gets none, and is counted with the backend's own figures`, async () => {
      await using fleet = await startFleet()
      const { gw } = fleet
      const before = await tokenCounters(gw)
      const trace = clientTraceparent()
      const stream = await openaiClient(gw, trace.traceparent).chat.completions.create({ model, messages, stream: true })
      const read = await readOpenAIStream(stream)
      // Exactly what the backend sends a client that did not ask: no usage-only chunk, no `usage: null` fields.
      expect(read.usages).toEqual([])
      expect(read.contentChunks).toBe(ANSWER_TOKENS)
      await expectCounted(gw, trace.traceId, before, { model, backend, input: PROMPT_TOKENS, output: ANSWER_TOKENS, estimated: false })
    })

    test(`a stream through ${backend} whose client asked for usage sees the same counts as the span`, async () => {
      await using fleet = await startFleet()
      const { gw } = fleet
      const before = await tokenCounters(gw)
      const trace = clientTraceparent()
      const stream = await openaiClient(gw, trace.traceparent).chat.completions.create({
        model, messages, stream: true, stream_options: { include_usage: true }, max_tokens: 7,
      })
      const read = await readOpenAIStream(stream)
      const usage = read.usages.find((u) => u)
      expect(usage).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: 7 })
      await expectCounted(gw, trace.traceId, before, { model, backend, input: PROMPT_TOKENS, output: 7, estimated: false })
    })

    test(`a non-streamed answer through ${backend} carries usage, and the span, metrics and dashboard agree`, async () => {
      await using fleet = await startFleet()
      const { gw } = fleet
      const before = await tokenCounters(gw)
      const trace = clientTraceparent()
      const res = await openaiClient(gw, trace.traceparent).chat.completions.create({ model, messages, max_tokens: 9 })
      expect(res.usage).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: 9 })
      await expectCounted(gw, trace.traceId, before, { model, backend, input: PROMPT_TOKENS, output: 9, estimated: false })
    })
  }

  test('a stream from a backend that ignores include_usage is counted one token per frame, marked estimated', async () => {
    await using fleet = await startFleet()
    const { gw } = fleet
    const before = await tokenCounters(gw)
    const trace = clientTraceparent()
    const stream = await openaiClient(gw, trace.traceparent).chat.completions.create({ model: BARE_MODEL, messages, stream: true, stream_options: { include_usage: true } })
    const read = await readOpenAIStream(stream)
    // The client asked, the backend did not answer: nothing the gateway could pass on.
    expect(read.usages.filter((u) => u)).toEqual([])
    await expectCounted(gw, trace.traceId, before, { model: BARE_MODEL, backend: 'bare', input: PROMPT_ESTIMATE, output: read.contentChunks, estimated: true })
    expect(read.contentChunks).toBe(ANSWER_TOKENS)
  })

  test('a whole answer without usage is counted at 4 characters per token, marked estimated', async () => {
    await using fleet = await startFleet()
    const { gw } = fleet
    const before = await tokenCounters(gw)
    const trace = clientTraceparent()
    const res = await openaiClient(gw, trace.traceparent).chat.completions.create({ model: BARE_MODEL, messages })
    expect(res.usage).toBeUndefined()
    const text = res.choices[0]?.message.content ?? ''
    expect(text.length).toBeGreaterThan(0)
    await expectCounted(gw, trace.traceId, before, { model: BARE_MODEL, backend: 'bare', input: PROMPT_ESTIMATE, output: Math.ceil(text.length / 4), estimated: true })
  })
})

describe('token accounting: Ollama clients', () => {
  for (const [backend, model, how] of [['gpu0', OLLAMA_MODEL, 'passed through'], ['vllm', OPENAI_MODEL, 'translated']] as const) {
    test(`a stream ${how} (${backend}) ends with the counts the span, metrics and dashboard show`, async () => {
      await using fleet = await startFleet()
      const { gw } = fleet
      const before = await tokenCounters(gw)
      const trace = clientTraceparent()
      let last: { prompt_eval_count?: number; eval_count?: number } | undefined
      for await (const part of await ollamaClient(gw, trace.traceparent).chat({ model, messages, stream: true, options: { num_predict: 5 } })) last = part
      expect(last).toMatchObject({ prompt_eval_count: PROMPT_TOKENS, eval_count: 5 })
      await expectCounted(gw, trace.traceId, before, { model, backend, input: PROMPT_TOKENS, output: 5, estimated: false })
    })

    test(`a non-streamed answer ${how} (${backend}) has the counts the span, metrics and dashboard show`, async () => {
      await using fleet = await startFleet()
      const { gw } = fleet
      const before = await tokenCounters(gw)
      const trace = clientTraceparent()
      const res = await ollamaClient(gw, trace.traceparent).generate({ model, prompt: PROMPT, stream: false })
      expect(res).toMatchObject({ prompt_eval_count: PROMPT_TOKENS, eval_count: ANSWER_TOKENS })
      await expectCounted(gw, trace.traceId, before, { operation: 'text_completion', model, backend, input: PROMPT_TOKENS, output: ANSWER_TOKENS, estimated: false })
    })
  }

  test('a translated stream from a backend without usage ends with the estimate, not zeros', async () => {
    await using fleet = await startFleet()
    const { gw } = fleet
    const before = await tokenCounters(gw)
    const trace = clientTraceparent()
    let contentLines = 0
    let last: { prompt_eval_count?: number; eval_count?: number; done?: boolean } | undefined
    for await (const part of await ollamaClient(gw, trace.traceparent).chat({ model: BARE_MODEL, messages, stream: true })) {
      if (part.message.content) contentLines++
      last = part
    }
    expect(last).toMatchObject({ done: true, prompt_eval_count: PROMPT_ESTIMATE, eval_count: contentLines })
    await expectCounted(gw, trace.traceId, before, { model: BARE_MODEL, backend: 'bare', input: PROMPT_ESTIMATE, output: contentLines, estimated: true })
  })

  test('an Ollama stream without counts in its done line (an old server) is estimated from its frames', async () => {
    await using fleet = await startFleet()
    const { gw } = fleet
    await fetch(`${fleet.ollamaUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'no-usage', count: 1 }) })
    const before = await tokenCounters(gw)
    const trace = clientTraceparent()
    let last: { prompt_eval_count?: number; eval_count?: number } | undefined
    for await (const part of await ollamaClient(gw, trace.traceparent).chat({ model: OLLAMA_MODEL, messages, stream: true })) last = part
    expect(last?.eval_count).toBeUndefined()
    await expectCounted(gw, trace.traceId, before, { model: OLLAMA_MODEL, backend: 'gpu0', input: PROMPT_ESTIMATE, output: ANSWER_TOKENS, estimated: true })
  })
})

describe('token accounting: cache hits and cut streams', () => {
  test('a cache hit is reported as served from the cache with 0 upstream tokens', async () => {
    await using fleet = await startFleet()
    const { gw } = fleet
    const body = { model: OLLAMA_MODEL, messages, temperature: 0 }
    const first = await openaiClient(gw, clientTraceparent().traceparent).chat.completions.create(body)
    const before = await tokenCounters(gw)
    const { data, response } = await openaiClient(gw, clientTraceparent().traceparent).chat.completions.create(body).withResponse()
    expect(response.headers.get('x-switchyard-cache')).toBe('hit')
    // The client gets the answer it would have got, usage included; none of it was spent upstream now.
    expect(data.usage).toEqual(first.usage)
    const id = response.headers.get('x-switchyard-request-id')
    let decision: Record<string, unknown> | undefined
    await until(async () => {
      const state = (await (await fetch(`${gw.url}/dashboard/state`)).json()) as { decisions: Record<string, unknown>[] }
      decision = state.decisions.find((d) => d.id === id)
      return decision !== undefined
    }, 3_000, 'the hit on the dashboard')
    expect(decision).toMatchObject({ cache: 'hit', inputTokens: 0, outputTokens: 0 })
    expect(await tokenCounters(gw)).toEqual(before)
  })

  test('a stream the backend drops mid-way is counted for the frames that got through', async () => {
    await using fleet = await startFleet()
    const { gw } = fleet
    // The simulator passes two chunks (two token lines) on, then resets the connection.
    await fetch(`${fleet.ollamaUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 1 }) })
    const before = await tokenCounters(gw)
    const trace = clientTraceparent()
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', headers: { traceparent: trace.traceparent }, body: JSON.stringify({ model: OLLAMA_MODEL, messages }) })
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { message?: { content: string }; error?: string })
    expect(lines.filter((l) => l.message?.content)).toHaveLength(2)
    expect(lines.at(-1)?.error).toContain('mid-stream')
    await expectCounted(gw, trace.traceId, before, { model: OLLAMA_MODEL, backend: 'gpu0', input: PROMPT_ESTIMATE, output: 2, estimated: true })
  })

  test('a stream the client leaves mid-way is counted for what was relayed, not the whole answer and not nothing', async () => {
    // Paced: about 10 ms per token, so the client leaves while the answer is still coming.
    await using sim = startSimulator({ models: [OPENAI_MODEL], outputTokens: 400 })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...probes, { use: 'prometheus' }, { use: 'dashboard' }, { use: 'otel', options: { endpoint: receiver.url } }] })
    // Warm the model so the stream starts at once.
    await (await fetch(`${gw.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: OPENAI_MODEL, prompt: 'warm', stream: false, options: { num_predict: 1 } }) })).text()
    const before = await tokenCounters(gw)
    const trace = clientTraceparent()
    const stream = await openaiClient(gw, trace.traceparent).chat.completions.create({ model: OPENAI_MODEL, messages, stream: true })
    let received = 0
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received++
      if (received === 3) break
    }
    await until(() => sim.stats().active === 0, 3_000, 'the upstream generation to stop')
    const spans = await waitForTrace(receiver, trace.traceId, [`chat ${OPENAI_MODEL}`])
    const output = Number(spans.find((s) => s.kind === OTLP_KIND.client)?.attributes['gen_ai.usage.output_tokens'])
    // The frames already on their way when the client left were relayed too; the rest of the 400 never came.
    expect(output).toBeGreaterThanOrEqual(3)
    expect(output).toBeLessThan(50)
    await expectCounted(gw, trace.traceId, before, { model: OPENAI_MODEL, backend: 'gpu0', input: PROMPT_ESTIMATE, output, estimated: true })
  })
})

/**
 * A scripted OpenAI-style upstream: fixed ids and times, and with `include_usage` every chunk carries
 * `"usage":null` and a usage-only chunk comes last, as api.openai.com does. Records what it was asked.
 */
function startOpenAIStyleUpstream() {
  const asked: Record<string, unknown>[] = []
  const chunk = (choices: unknown[], usage: unknown) => `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices, ...(usage === undefined ? {} : { usage }) })}\n\n`
  const server = Bun.serve({
    port: 0, hostname: '127.0.0.1',
    async fetch(req) {
      if (new URL(req.url).pathname === '/v1/models') return Response.json({ object: 'list', data: [{ id: 'gpt-x', object: 'model', created: 0, owned_by: 'x' }] })
      if (req.method !== 'POST') return new Response('not found', { status: 404 })
      const body = (await req.json()) as { stream_options?: { include_usage?: boolean } }
      asked.push(body)
      const withUsage = body.stream_options?.include_usage === true
      const nullUsage = withUsage ? null : undefined
      const frames = [
        chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], nullUsage),
        ...['Hel', 'lo', ' there'].map((content) => chunk([{ index: 0, delta: { content }, finish_reason: null }], nullUsage)),
        chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], nullUsage),
        ...(withUsage ? [chunk([], { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 })] : []),
        'data: [DONE]\n\n',
      ]
      return new Response(frames.join(''), { headers: { 'content-type': 'text/event-stream' } })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, asked, [Symbol.asyncDispose]: async () => void (await server.stop(true)) }
}

describe('token accounting: asking for usage on the client\'s behalf', () => {
  test('a client that did not ask gets byte for byte what the upstream sends it, while the gateway counts the upstream\'s usage', async () => {
    await using upstream = startOpenAIStyleUpstream()
    await using gw = await startGateway({ backends: [{ name: 'hosted', kind: 'openai', url: upstream.url }], plugins: [...probes, { use: 'prometheus' }] })
    const body = JSON.stringify({ model: 'gpt-x', stream: true, messages })
    const direct = await (await fetch(`${upstream.url}/v1/chat/completions`, { method: 'POST', body })).text()
    const before = await tokenCounters(gw)
    const relayed = await (await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body })).text()
    expect(relayed).toBe(direct)
    expect(upstream.asked.at(-1)?.stream_options).toEqual({ include_usage: true })
    const after = await tokenCounters(gw)
    expect((after.get('gpt-x hosted input false') ?? 0) - (before.get('gpt-x hosted input false') ?? 0)).toBe(11)
    expect((after.get('gpt-x hosted output false') ?? 0) - (before.get('gpt-x hosted output false') ?? 0)).toBe(3)
    // A client that asks gets the upstream's answer unchanged, usage chunk and all.
    const asking = JSON.stringify({ model: 'gpt-x', stream: true, stream_options: { include_usage: true }, messages })
    expect(await (await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: asking })).text())
      .toBe(await (await fetch(`${upstream.url}/v1/chat/completions`, { method: 'POST', body: asking })).text())
  })
})
