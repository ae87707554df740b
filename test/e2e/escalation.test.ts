/** Draft and audit through a live gateway: buffer and parallel escalation, both protocols, streamed and not, and their faults. */
import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { startSimulator, type SimHandle } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

const SMALL = 'qwen2.5-coder:1.5b'
const LARGE = 'qwen2.5-coder:7b'
const HUGE = 'deepseek-coder:33b'
const AUDITOR = { use: './test/fixtures/plugins/verdict-auditor.ts', options: { delayMs: 3_000, timeoutMs: 300 } }
/** Short prompts are SIMPLE to the length classifier: deterministic classes for these tests. */
const CLASSIFIER = { use: './plugins/examples/length-classifier.ts' }

interface Setup {
  readonly mode?: 'buffer' | 'parallel'
  readonly maxEscalations?: number
  /** One simulator for every model, or one per GPU (the small model on the first, the larger ones on the second). */
  readonly twoBackends?: boolean
  readonly speed?: number
}

async function checkedGateway(setup: Setup = {}) {
  const pace = setup.speed ? { speed: setup.speed } : { instant: true }
  const first = startSimulator(pace)
  const second = setup.twoBackends ? startSimulator(pace) : undefined
  const backends = [
    { name: 'gpu0', kind: 'ollama', url: first.url, gpu: 0 },
    ...(second ? [{ name: 'gpu1', kind: 'ollama', url: second.url, gpu: 1 }] : []),
  ]
  const models = second ? { [SMALL]: { backends: ['gpu0'] }, [LARGE]: { backends: ['gpu1'] }, [HUGE]: { backends: ['gpu1'] } } : undefined
  const escalate = { auditor: 'verdict-auditor', mode: setup.mode ?? 'buffer', maxEscalations: setup.maxEscalations ?? 1, classes: ['SIMPLE', 'MODERATE'] }
  const gw = await startGateway({
    backends, ...(models ? { models } : {}),
    routes: { auto: { SIMPLE: [SMALL], MODERATE: [LARGE], COMPLEX: [HUGE], escalate } },
    plugins: [CLASSIFIER, AUDITOR, ...fastProbes],
  })
  await until(async () => (await fetch(`${gw.url}/v1/models`).then((r) => r.json()) as { data: unknown[] }).data.length >= 3, 3_000, 'models discovered')
  return {
    gw, first, second,
    async [Symbol.asyncDispose]() {
      await gw.close()
      await first.close()
      await second?.close()
    },
  }
}

const chat = (url: string, content: string, body: Record<string, unknown> = {}) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }], ...body }) })

const statsOf = (sim: SimHandle) => sim.stats()

describe('buffer mode', () => {
  test('a passing draft is sent; a failing one is replaced by the next class, said in the headers', async () => {
    await using t = await checkedGateway()
    const pass = await chat(t.gw.url, 'add a docstring')
    expect(pass.status).toBe(200)
    expect(pass.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(pass.headers.get('x-switchyard-escalated')).toBeNull()
    expect(pass.headers.get('x-switchyard-audit')).toBe('pass 0.90')
    expect(((await pass.json()) as { model: string }).model).toBe(SMALL)

    const fail = await chat(t.gw.url, 'add a docstring [fail-draft]')
    expect(fail.status).toBe(200)
    expect(fail.headers.get('x-switchyard-escalated')).toBe(`${SMALL} -> ${LARGE}`)
    expect(fail.headers.get('x-switchyard-model')).toBe(LARGE)
    expect(fail.headers.get('x-switchyard-class')).toBe('MODERATE')
    expect(fail.headers.get('x-switchyard-reason')).toContain('audit fail 0.10 by verdict-auditor (threshold 0.5): the test says this draft fails')
    const body = (await fail.json()) as { model: string; choices: { message: { content: string } }[] }
    expect(body.model).toBe(LARGE)
    expect(body.choices[0]!.message.content).toContain(`[${LARGE}]`)
    expect(statsOf(t.first).byModel).toEqual({ [SMALL]: 2, [LARGE]: 1 })
  })

  test('streaming clients get the draft replayed and the escalated answer live, with both official clients', async () => {
    await using t = await checkedGateway()
    const openai = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'unused' })
    for (const [content, model] of [['say hi', SMALL], ['say hi [fail-draft]', LARGE]] as const) {
      const stream = await openai.chat.completions.create({ model: 'auto', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content }] })
      let text = ''
      let usage: unknown
      let finish: string | null | undefined
      for await (const chunk of stream) {
        expect(chunk.model).toBe(model)
        text += chunk.choices[0]?.delta.content ?? ''
        finish ??= chunk.choices[0]?.finish_reason
        usage ??= chunk.usage
      }
      expect(text).toStartWith(`[${model}]`)
      expect(text.endsWith('.')).toBe(true)
      expect(finish).toBe('stop')
      expect(usage).toMatchObject({ completion_tokens: expect.any(Number), prompt_tokens: expect.any(Number) })
    }
    const ollama = new Ollama({ host: t.gw.url })
    // New prompts: the ones above would continue those conversations, at the class they reached.
    for (const [content, model] of [['say hello', SMALL], ['say hello [fail-draft]', LARGE]] as const) {
      let text = ''
      let last: { done: boolean; eval_count?: number } | undefined
      for await (const part of await ollama.chat({ model: 'auto', stream: true, messages: [{ role: 'user', content }] })) {
        expect(part.model).toBe(model)
        text += part.message.content
        last = part
      }
      expect(text).toStartWith(`[${model}]`)
      expect(last?.done).toBe(true)
      expect(last?.eval_count).toBeGreaterThan(0)
      const whole = await ollama.generate({ model: 'auto', prompt: `${content} once more` })
      expect(whole.model).toBe(model)
      expect(whole.response).toStartWith(`[${model}]`)
    }
  })

  test('an Ollama client of an OpenAI-kind backend gets the draft translated and replayed as NDJSON, and the escalation too', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'vllm', kind: 'openai', url: sim.url }],
      routes: { auto: { SIMPLE: [SMALL], MODERATE: [LARGE], escalate: { auditor: 'verdict-auditor', classes: ['SIMPLE'] } } },
      plugins: [CLASSIFIER, AUDITOR, ...fastProbes],
    })
    await until(() => gw.gateway.deps.health.modelNames().length >= 2, 3_000, 'models discovered')
    const ollama = new Ollama({ host: gw.url })
    for (const [content, model] of [['say hi', SMALL], ['say hi [fail-draft]', LARGE]] as const) {
      let text = ''
      let last: { done: boolean; eval_count?: number; done_reason?: string } | undefined
      for await (const part of await ollama.chat({ model: 'auto', stream: true, messages: [{ role: 'user', content }] })) {
        expect(part.model).toBe(model)
        text += part.message.content
        last = part
      }
      expect(text).toStartWith(`[${model}]`)
      expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: expect.any(Number) })
    }
  })

  test('maxEscalations 2 climbs two classes when both drafts fail the audit', async () => {
    await using t = await checkedGateway({ maxEscalations: 2 })
    const res = await chat(t.gw.url, 'fix it [fail-draft]')
    expect(res.headers.get('x-switchyard-escalated')).toBe(`${SMALL} -> ${HUGE}`)
    expect(res.headers.get('x-switchyard-model')).toBe(HUGE)
    expect(res.headers.get('x-switchyard-reason')).toContain(`escalated ${SMALL} -> ${LARGE}`)
    expect(res.headers.get('x-switchyard-reason')).toContain(`escalated ${SMALL} -> ${HUGE}`)
    expect(statsOf(t.first).byModel).toEqual({ [SMALL]: 1, [LARGE]: 1, [HUGE]: 1 })
  })

  test('a conversation that escalated continues at the class that answered it', async () => {
    await using t = await checkedGateway()
    const first = [{ role: 'user', content: 'write a haiku [fail-draft]' }]
    const res = await fetch(`${t.gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'auto', messages: first }) })
    expect(res.headers.get('x-switchyard-escalated')).toBe(`${SMALL} -> ${LARGE}`)
    const answer = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content
    const next = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST', body: JSON.stringify({ model: 'auto', messages: [...first, { role: 'assistant', content: answer }, { role: 'user', content: 'shorter' }] }),
    })
    expect(next.headers.get('x-switchyard-model')).toBe(LARGE)
    expect(next.headers.get('x-switchyard-class')).toBe('MODERATE')
    expect(next.headers.get('x-switchyard-escalated')).toBeNull()
  })

  test('named models and forced classes are never audited or escalated', async () => {
    await using t = await checkedGateway()
    const named = await chat(t.gw.url, 'hi [fail-draft]', { model: SMALL })
    expect(named.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(named.headers.get('x-switchyard-escalated')).toBeNull()
    const forced = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'x-switchyard-class': 'SIMPLE' },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi [fail-draft]' }] }),
    })
    expect(forced.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(forced.headers.get('x-switchyard-audit')).toBeNull()
  })

  test('an auditor that throws or times out is skipped with a reason; the draft is sent', async () => {
    await using t = await checkedGateway()
    const thrown = await chat(t.gw.url, 'hi [throw-audit]')
    expect(thrown.status).toBe(200)
    expect(thrown.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(thrown.headers.get('x-switchyard-reason')).toContain('audit skipped 1.00 by verdict-auditor')
    expect(thrown.headers.get('x-switchyard-reason')).toContain('auditor exploded')
    const slow = await chat(t.gw.url, 'hi [slow-audit] [fail-draft]')
    expect(slow.status).toBe(200)
    expect(slow.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(slow.headers.get('x-switchyard-reason')).toContain('no answer within 300 ms')
  })

  test('a draft backend that dies mid-generation is a failed draft: the next class answers', async () => {
    await using t = await checkedGateway({ twoBackends: true })
    await fetch(`${t.first.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 1 }) })
    const res = await chat(t.gw.url, 'say hi')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-escalated')).toBe(`${SMALL} -> ${LARGE}`)
    expect(res.headers.get('x-switchyard-reason')).toContain('draft failed, buffer')
    expect(((await res.json()) as { model: string }).model).toBe(LARGE)
  })

  test('the larger model failing after a rejected draft falls back to the draft, with the reason', async () => {
    await using t = await checkedGateway({ twoBackends: true })
    await fetch(`${t.second!.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 5 }) })
    const res = await chat(t.gw.url, 'say hi [fail-draft]', { stream: true })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(res.headers.get('x-switchyard-escalated')).toBeNull()
    expect(res.headers.get('x-switchyard-reason')).toContain(`escalation to ${LARGE} failed`)
    const text = await res.text()
    expect(text).toContain(`[${SMALL}]`)
    expect(text.trim().endsWith('data: [DONE]')).toBe(true)
  })
})

describe('parallel mode', () => {
  test('a passing draft cancels the larger generation at once; a failing one sends the larger answer already under way', async () => {
    await using t = await checkedGateway({ mode: 'parallel', twoBackends: true, speed: 20 })
    const pass = await chat(t.gw.url, 'say hi')
    expect(pass.headers.get('x-switchyard-model')).toBe(SMALL)
    expect(pass.headers.get('x-switchyard-reason')).toContain(`${LARGE} cancelled: the draft passed`)
    await pass.text()
    await until(() => statsOf(t.second!).aborted === 1 && statsOf(t.second!).active === 0, 3_000, 'the larger generation cancelled')
    expect(statsOf(t.second!).byModel).toEqual({ [LARGE]: 1 })

    const fail = await chat(t.gw.url, 'say hi [fail-draft]', { stream: true })
    expect(fail.headers.get('x-switchyard-escalated')).toBe(`${SMALL} -> ${LARGE}`)
    expect(fail.headers.get('x-switchyard-model')).toBe(LARGE)
    const text = await fail.text()
    expect(text).toContain(`"model":"${LARGE}"`)
    expect(text.trim().endsWith('data: [DONE]')).toBe(true)
    expect(statsOf(t.second!)).toMatchObject({ aborted: 1, active: 0, byModel: { [LARGE]: 2 } })
  })

  test('with no second backend free, parallel runs as buffer and says so', async () => {
    await using t = await checkedGateway({ mode: 'parallel' })
    const res = await chat(t.gw.url, 'say hi [fail-draft]')
    expect(res.headers.get('x-switchyard-model')).toBe(LARGE)
    expect(res.headers.get('x-switchyard-reason')).toContain('parallel: no second backend free for MODERATE; buffered instead')
  })

  test('a client that disconnects cancels both generations', async () => {
    await using t = await checkedGateway({ mode: 'parallel', twoBackends: true, speed: 0.5 })
    const controller = new AbortController()
    const aborted = fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST', signal: controller.signal, body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'say hello' }] }),
    }).catch(() => undefined)
    await until(() => statsOf(t.first).active === 1 && statsOf(t.second!).active === 1, 5_000, 'both generations running')
    controller.abort()
    await aborted
    await until(() => statsOf(t.first).aborted === 1 && statsOf(t.second!).aborted === 1, 5_000, 'both generations of the disconnected client cancelled')
    expect(statsOf(t.first).active + statsOf(t.second!).active).toBe(0)
  })
})

describe('what an escalation leaves behind', () => {
  test('metrics, the decision history and the implicit too-weak label', async () => {
    await using t = await checkedGateway()
    const res = await chat(t.gw.url, 'rename x [fail-draft]')
    const id = res.headers.get('x-switchyard-request-id')!
    await res.text()
    await chat(t.gw.url, 'rename y').then((r) => r.text())
    const metrics = await fetch(`${t.gw.url}/metrics`).then((r) => r.text())
    expect(metrics).toContain('switchyard_audits_total{route="auto",class="SIMPLE",outcome="fail"} 1')
    expect(metrics).toContain('switchyard_audits_total{route="auto",class="SIMPLE",outcome="pass"} 1')
    expect(metrics).toContain(`switchyard_escalations_total{from_model="${SMALL}",to_model="${LARGE}",reason="audit"} 1`)
    expect(metrics).toMatch(new RegExp(`switchyard_gpu_seconds_total\\{model="${SMALL.replace('.', '\\.')}",backend="gpu0",team="none"\\} [0-9.e-]+`))
    expect(metrics).toMatch(/switchyard_gpu_seconds_wasted_total\{route="auto",reason="rejected_draft"\} [0-9.e-]+/)
    const history = t.gw.gateway.deps.plugins.of('history')[0]!.instance
    await history.flush?.()
    const decision = await history.get(id)
    expect(decision?.escalation).toBe(`${SMALL} -> ${LARGE}`)
    expect(decision?.model).toBe(LARGE)
    const labelled = await history.labelled()
    expect(labelled.find((d) => d.id === id)).toMatchObject({ correct: 'MODERATE', source: 'escalation' })
  })
})
