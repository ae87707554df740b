import { describe, expect, test } from 'bun:test'
import { until } from '../support/until.ts'
import { startTwoBackends } from './setup.ts'

/** Reads SSE frames from a response body as `{ event, data }`. */
function sseReader(res: Response) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const frames: { event: string; data: any }[] = []
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = block.match(/^event: (.*)$/m)?.[1]
        const data = block.match(/^data: (.*)$/m)?.[1]
        if (event && data) frames.push({ event, data: JSON.parse(data) })
      }
    }
  })()
  return { frames, close: async () => { await reader.cancel(); await pump } }
}

describe('dashboard endpoints', () => {
  test('the dashboard is on by default and serves its page and assets', async () => {
    await using env = await startTwoBackends()
    expect(env.gw.gateway.deps.plugins.of('telemetry').map((p) => p.name)).toContain('dashboard')
    const page = await fetch(`${env.gw.url}/dashboard`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain('/dashboard/app.js')
    const js = await fetch(`${env.gw.url}/dashboard/app.js`)
    expect(js.headers.get('content-type')).toContain('javascript')
    const script = await js.text()
    expect(script).toContain('EventSource')
    // One script: the feedback buttons and the History tab are appended to the live part.
    expect(script).toContain('/router/feedback')
    expect(script).toContain('/router/history')
    expect((await fetch(`${env.gw.url}/dashboard/app.css`)).status).toBe(200)
    const missing = await fetch(`${env.gw.url}/dashboard/nope.js`)
    expect(missing.status).toBe(404)
    await missing.text()
  })

  test('/dashboard/state lists decisions newest first with per-model and per-class aggregates', async () => {
    await using env = await startTwoBackends()
    await env.ask('add a docstring to this function')
    await env.ask('refactor this module and redesign the architecture of the whole service')
    await env.ask('hello', 'qwen2.5-coder:7b')
    const state = await (await fetch(`${env.gw.url}/dashboard/state`)).json()
    expect(state.totals).toEqual({ requests: 3, errors: 0, cacheHits: 0 })
    expect(state.decisions.map((d: any) => d.model)).toEqual(['qwen2.5-coder:7b', 'deepseek-coder:33b', 'qwen2.5-coder:1.5b'])
    const [named, complex, simple] = state.decisions
    expect(simple).toMatchObject({ route: 'auto', class: 'SIMPLE', backend: 'gpu0', status: 200, protocol: 'openai', fallbackCount: 0 })
    expect(simple.confidence).toBeGreaterThan(0)
    expect(simple.reasons.join(' ')).toContain('docstring')
    expect(simple.outputTokens).toBeGreaterThan(0)
    expect(simple.ttftMs).toBeGreaterThanOrEqual(0)
    expect(complex).toMatchObject({ class: 'COMPLEX', backend: 'vllm' })
    expect(named).toMatchObject({ route: null, class: null, requested: 'qwen2.5-coder:7b' })
    const byModel = Object.fromEntries(state.models.map((r: any) => [r.key, r]))
    expect(Object.keys(byModel).sort()).toEqual(['deepseek-coder:33b', 'qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'])
    expect(byModel['deepseek-coder:33b']).toMatchObject({ requests: 1, share: 0.333, errors: 0 })
    expect(byModel['deepseek-coder:33b'].latencyP95Ms).toBeGreaterThanOrEqual(0)
    expect(byModel['deepseek-coder:33b'].seriesRequests.reduce((a: number, b: number) => a + b)).toBe(1)
    expect(state.classes.map((r: any) => r.key).sort()).toEqual(['COMPLEX', 'SIMPLE', 'named'])
  })

  test('/dashboard/events sends a snapshot on connect, then each decision as it happens', async () => {
    await using env = await startTwoBackends()
    await env.ask('add a docstring to this function')
    const res = await fetch(`${env.gw.url}/dashboard/events`)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const sse = sseReader(res)
    await until(() => sse.frames.length > 0, 2_000, 'snapshot')
    expect(sse.frames[0]!.event).toBe('snapshot')
    expect(sse.frames[0]!.data.decisions).toHaveLength(1)
    await env.ask('refactor this module and redesign the architecture of the whole service')
    await until(() => sse.frames.some((f) => f.event === 'decision'), 2_000, 'decision event')
    const decision = sse.frames.find((f) => f.event === 'decision')!.data
    expect(decision).toMatchObject({ class: 'COMPLEX', model: 'deepseek-coder:33b', backend: 'vllm' })
    await sse.close()
  })

  test('a stream the backend drops midway shows as a failed decision with its error', async () => {
    await using env = await startTwoBackends()
    await fetch(`${env.bigUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 1 }) })
    const res = await fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST', body: JSON.stringify({ model: 'deepseek-coder:33b', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    })
    await res.text()
    let state: any
    await until(async () => (state = await (await fetch(`${env.gw.url}/dashboard/state`)).json()).totals.requests === 1, 2_000, 'decision')
    expect(state.totals.errors).toBe(1)
    expect(state.decisions[0]).toMatchObject({ model: 'deepseek-coder:33b', backend: 'vllm' })
    expect(state.decisions[0].error).toBeTruthy()
    expect(state.models[0].errors).toBe(1)
  })
})
