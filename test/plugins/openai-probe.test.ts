/** openai-probe against scripted vLLM and llama.cpp servers on 127.0.0.1: models, load metrics, /health, failures. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import type { GatewayInfo, Logger } from 'switchyard/plugin'
import openaiProbe from '../../plugins/openai-probe/index.ts'
import { parseParametersFromName } from '../../plugins/openai-probe/parse-models.ts'
import { parsePrometheusText } from '../../plugins/openai-probe/prometheus-text.ts'
import { keepNothing } from 'switchyard/plugin'

const VLLM_MODELS = {
  object: 'list',
  data: [
    {
      id: 'Qwen/Qwen2.5-Coder-7B-Instruct',
      object: 'model',
      created: 1746371234,
      owned_by: 'vllm',
      root: 'Qwen/Qwen2.5-Coder-7B-Instruct',
      parent: null,
      max_model_len: 32768,
      permission: [{ id: 'modelperm-4f1c', object: 'model_permission', allow_sampling: true }],
    },
  ],
}

const VLLM_METRICS = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 3.0
vllm:num_requests_running{engine="1",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 1.0
vllm:num_requests_waiting{engine="1",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 0.42
vllm:kv_cache_usage_perc{engine="1",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 0.17
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen2.5-Coder-7B-Instruct"} 18231.0
# HELP http_requests_total Total number of requests by method, status and handler.
# TYPE http_requests_total counter
http_requests_total{handler="/v1/chat/completions",method="POST",status="2xx"} 96.0
`

const OLD_VLLM_METRICS = `# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.055
`

const LLAMACPP_MODELS = {
  object: 'list',
  data: [
    {
      id: 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
      object: 'model',
      created: 1746371234,
      owned_by: 'llamacpp',
      meta: { vocab_type: 2, n_vocab: 151936, n_ctx_train: 32768, n_embd: 1536, n_params: 1543714304, size: 1117320736 },
    },
  ],
}

const LLAMACPP_METRICS = `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 4096
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# HELP llamacpp:requests_deferred Number of requests deferred.
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 4
# HELP llamacpp:kv_cache_usage_ratio KV-cache usage. 1 means 100 percent usage.
# TYPE llamacpp:kv_cache_usage_ratio gauge
llamacpp:kv_cache_usage_ratio 0.8125
`

const LOADING = { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } }

type Handler = () => Response | Promise<Response>

function startServer(routes: Record<string, Handler>) {
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const handler = routes[new URL(req.url).pathname]
      return handler ? handler() : Response.json({ detail: 'Not Found' }, { status: 404 })
    },
  })
}

const metricsText = (text: string) => () => new Response(text, { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } })

function vllmServer(metrics = VLLM_METRICS, health: Handler = () => new Response(null, { status: 200 })) {
  return startServer({ '/v1/models': () => Response.json(VLLM_MODELS), '/metrics': metricsText(metrics), '/health': health })
}

function llamacppServer(withMetrics: boolean) {
  return startServer({
    '/v1/models': () => Response.json(LLAMACPP_MODELS),
    '/health': () => Response.json({ status: 'ok' }),
    ...(withMetrics ? { '/metrics': metricsText(LLAMACPP_METRICS) } : {}),
  })
}

function closedPortUrl(): string {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
  const url = `http://127.0.0.1:${server.port}`
  server.stop(true)
  return url
}

function recordingLogger() {
  const calls: { level: string; msg: string }[] = []
  const at = (level: string) => (msg: string) => void calls.push({ level, msg })
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { log, calls }
}

async function checkOnce(input: Record<string, unknown>, backends: GatewayInfo['backends'], signal = AbortSignal.timeout(2_000)) {
  const { log } = recordingLogger()
  const probe = await openaiProbe.setup({
    name: 'openai-probe',
    options: v.parse(openaiProbe.options, input),
    signal: new AbortController().signal,
    log,
    gateway: { backends },
    baseDir: process.cwd(), keep: keepNothing,
  })
  return probe.check(signal)
}

describe('openai-probe', () => {
  test('reads a vLLM model card and sums running and waiting requests over engines', async () => {
    using server = vllmServer()
    const report = await checkOnce({}, [{ name: 'vllm', kind: 'openai', url: `${server.url.href}v1` }])
    const vllm = report.backends?.[0]
    expect(vllm).toMatchObject({ name: 'vllm', up: true, running: 5, waiting: 1, kvCacheUsage: 0.42 })
    expect(vllm?.error).toBeUndefined()
    expect(vllm?.latencyMs).toBeGreaterThanOrEqual(0)
    expect(vllm?.models).toEqual([
      { name: 'Qwen/Qwen2.5-Coder-7B-Instruct', parameterSize: '7B', parameters: 7e9, contextLength: 32768 },
    ])
  })

  test('falls back to the deprecated vLLM KV-cache metric on old servers', async () => {
    using server = vllmServer(OLD_VLLM_METRICS)
    const report = await checkOnce({}, [{ name: 'old', kind: 'openai', url: server.url.href }])
    expect(report.backends?.[0]).toMatchObject({ up: true, running: 1, waiting: 0, kvCacheUsage: 0.055 })
  })

  test('reads llama.cpp metadata and load metrics', async () => {
    using server = llamacppServer(true)
    const report = await checkOnce({}, [{ name: 'llama', kind: 'openai', url: server.url.href }])
    expect(report.backends?.[0]).toEqual({
      name: 'llama',
      up: true,
      latencyMs: expect.any(Number),
      models: [{
        name: 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
        parameterSize: '1.5B',
        parameters: 1543714304,
        sizeBytes: 1117320736,
        quantization: 'Q4_K_M',
      }],
      running: 2,
      waiting: 4,
      kvCacheUsage: 0.8125,
    })
  })

  test('treats a missing /metrics endpoint as no load figures, not an error', async () => {
    using server = llamacppServer(false)
    const llama = (await checkOnce({}, [{ name: 'llama', kind: 'openai', url: server.url.href }])).backends?.[0]
    expect(llama?.up).toBe(true)
    expect(llama?.error).toBeUndefined()
    expect(llama?.running).toBeUndefined()
    expect(llama?.kvCacheUsage).toBeUndefined()
  })

  test('does not ask for /metrics when metrics is off', async () => {
    const seen: string[] = []
    using server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const path = new URL(req.url).pathname
        seen.push(path)
        return path === '/v1/models' ? Response.json(LLAMACPP_MODELS) : new Response('', { status: 404 })
      },
    })
    await checkOnce({ metrics: false }, [{ name: 'llama', kind: 'openai', url: server.url.href }])
    expect(seen).toEqual(['/v1/models'])
  })

  test('reports a llama.cpp server that is still loading its model as not up', async () => {
    using server = startServer({
      '/v1/models': () => Response.json(LOADING, { status: 503 }),
      '/health': () => Response.json(LOADING, { status: 503 }),
    })
    const report = await checkOnce({}, [{ name: 'llama', kind: 'openai', url: server.url.href }])
    expect(report.backends).toEqual([
      { name: 'llama', up: false, error: '/v1/models: HTTP 503; /health: not ready (Loading model)' },
    ])
  })

  test('with health on, a failing /health marks the backend down even when models answer', async () => {
    using server = vllmServer(VLLM_METRICS, () => new Response(null, { status: 503 }))
    const vllm = (await checkOnce({ health: true }, [{ name: 'vllm', kind: 'openai', url: server.url.href }])).backends?.[0]
    expect(vllm).toMatchObject({ up: false, error: '/health: not ready (HTTP 503)' })
    expect(vllm?.models).toHaveLength(1)
  })

  test('reports a backend on a closed port down instead of throwing', async () => {
    const report = await checkOnce({}, [{ name: 'gone', kind: 'openai', url: closedPortUrl() }])
    expect(report.backends).toEqual([{ name: 'gone', up: false, error: '/v1/models: connection refused' }])
  })

  test('gives up on a hanging backend when the signal fires', async () => {
    using server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Promise<Response>(() => {}) })
    const report = await checkOnce({ timeoutMs: 60_000 }, [{ name: 'stuck', kind: 'openai', url: server.url.href }], AbortSignal.timeout(150))
    expect(report.backends).toEqual([{ name: 'stuck', up: false, error: '/v1/models: timed out' }])
    server.stop(true)
  })

  test('probes only openai backends by default', async () => {
    using server = llamacppServer(false)
    const report = await checkOnce({}, [
      { name: 'ollama', kind: 'ollama', url: 'http://127.0.0.1:1' },
      { name: 'llama', kind: 'openai', url: server.url.href },
    ])
    expect(report.backends?.map((b) => b.name)).toEqual(['llama'])
  })
})

describe('parseParametersFromName', () => {
  test('finds the parameter count in common model names', () => {
    expect(parseParametersFromName('Qwen2.5-Coder-7B-Instruct')?.parameters).toBe(7e9)
    expect(parseParametersFromName('Qwen/Qwen2.5-0.5B-Instruct')?.parameters).toBe(5e8)
    expect(parseParametersFromName('meta-llama/Llama-3.1-8B-Instruct')?.parameters).toBe(8e9)
    expect(parseParametersFromName('HuggingFaceTB/SmolLM2-135M-Instruct')?.parameters).toBe(1.35e8)
    expect(parseParametersFromName('mistralai/Mixtral-8x7B-Instruct-v0.1')?.parameters).toBe(56e9)
    expect(parseParametersFromName('Qwen/Qwen3-30B-A3B')?.parameters).toBe(30e9)
    expect(parseParametersFromName('llama3.2:3b')?.parameters).toBe(3e9)
    expect(parseParametersFromName('microsoft/Phi-3-mini-4k-instruct')).toBeUndefined()
    expect(parseParametersFromName('text-embedding-3-small')).toBeUndefined()
  })
})

describe('parsePrometheusText', () => {
  test('reads names, labels with escapes, special values and timestamps', () => {
    const samples = parsePrometheusText([
      '# HELP x_total A counter.',
      '# TYPE x_total counter',
      'x_total{path="/a,b}",quote="say \\"hi\\"",nl="a\\nb"} 12 1712345678000',
      'up 1',
      'ratio NaN',
      'big +Inf',
      'broken{oops 1',
      '',
    ].join('\n'))
    expect(samples.map((s) => s.name)).toEqual(['x_total', 'up', 'ratio', 'big'])
    expect(samples[0]).toEqual({ name: 'x_total', labels: { path: '/a,b}', quote: 'say "hi"', nl: 'a\nb' }, value: 12 })
    expect(samples[2]?.value).toBeNaN()
    expect(samples[3]?.value).toBe(Number.POSITIVE_INFINITY)
  })
})
