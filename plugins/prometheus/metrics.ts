/** The gateway's metric set: names, help, label names and buckets, and how PipelineEvents and health move them. */
import { type CounterSample, type HealthSnapshot, type PipelineEvent, isCacheHit } from 'switchyard/plugin'
import { type Registry, createRegistry } from './registry.ts'

/** Request duration includes the whole streamed body. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]
const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const

export interface GatewayMetrics {
  observe(event: PipelineEvent): void
  render(health?: HealthSnapshot, counters?: readonly CounterSample[]): string
}

export function createGatewayMetrics(prefix: string): GatewayMetrics {
  const r: Registry = createRegistry()
  const n = (name: string) => `${prefix}_${name}`
  const requests = r.counter(n('requests_total'), 'Requests answered, by route, task class, model, backend and HTTP status.', ['route', 'class', 'model', 'backend', 'status'])
  const duration = r.histogram(n('request_duration_seconds'), 'Time from request to the last byte of the answer (streams included).', ['route', 'model', 'backend'], DURATION_BUCKETS)
  const ttft = r.histogram(n('time_to_first_token_seconds'), 'Time from request to the first byte of the upstream answer.', ['model', 'backend'], TTFT_BUCKETS)
  const tokens = r.counter(n('tokens_total'), 'Tokens used upstream, by type (input or output); estimated="true" where the gateway counted them itself (no usage from the backend, or a cut stream).', ['model', 'backend', 'token_type', 'estimated'])
  const decisions = r.counter(n('classifications_total'), 'Classifier decisions for virtual models, by route, class and classifier.', ['route', 'class', 'classifier'])
  const confidence = r.histogram(n('classification_confidence_ratio'), 'Confidence (0..1) of the winning classification.', ['route', 'class'], CONFIDENCE_BUCKETS)
  const cache = r.counter(n('cache_lookups_total'), 'Cache lookups by result: hit, semantic-hit, miss or bypass.', ['result'])
  const fallbacks = r.counter(n('fallbacks_total'), 'Upstream attempts that failed before another option answered.', ['route', 'model', 'backend'])
  const inFlightGauge = r.gauge(n('inflight_requests'), 'Requests received and not yet answered to the end.', [])
  const up = r.gauge(n('backend_up'), 'Whether the last probe found the backend up (1) or not (0).', ['backend'])
  const circuit = r.gauge(n('backend_circuit_state'), 'Circuit breaker state per backend: 1 for the current state.', ['backend', 'state'])
  const backendInFlight = r.gauge(n('backend_inflight_requests'), 'Requests the gateway has open against a backend.', ['backend'])
  const gpuUsed = r.gauge(n('gpu_memory_used_bytes'), 'GPU memory in use, from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const gpuTotal = r.gauge(n('gpu_memory_total_bytes'), 'GPU memory in total, from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const gpuUtil = r.gauge(n('gpu_utilization_ratio'), 'GPU utilization (0..1), from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const gpuTemp = r.gauge(n('gpu_temperature_celsius'), 'GPU temperature, from nvidia-smi.', ['gpu', 'gpu_uuid'])
  // A count, not a set of request ids: every request event is followed by exactly one last event (a response or
  // a cache hit), and a set that takes and drops an id per request costs measurable time on the request path.
  let inFlight = 0

  // The series a response moves, per label combination (bounded like the labels): one lookup per response.
  const bundles = new Map<string, ReturnType<typeof bundle>>()
  const bundle = (route: string, cls: string, model: string, backend: string, status: number) => ({
    requests: requests.bind({ route, class: cls, model, backend, status: String(status) }),
    duration: duration.bind({ route, model, backend }),
    ttft: ttft.bind({ model, backend }),
    inputTokens: tokens.bind({ model, backend, token_type: 'input', estimated: 'false' }),
    outputTokens: tokens.bind({ model, backend, token_type: 'output', estimated: 'false' }),
    estimatedInputTokens: tokens.bind({ model, backend, token_type: 'input', estimated: 'true' }),
    estimatedOutputTokens: tokens.bind({ model, backend, token_type: 'output', estimated: 'true' }),
    fallbacks: fallbacks.bind({ route, model, backend }),
  })
  const seriesOf = (route: string, cls: string, model: string, backend: string, status: number) => {
    const key = `${route}\u0000${cls}\u0000${model}\u0000${backend}\u0000${status}`
    let b = bundles.get(key)
    if (!b) bundles.set(key, (b = bundle(route, cls, model, backend, status)))
    return b
  }

  /** A cache hit counts as a 200 with no route, class, model or backend. */
  const cacheHits = requests.bind({ route: '', class: '', model: '', backend: '', status: '200' })

  /** Counters other telemetry plugins offer, added to the registry the first time one is seen; read at each scrape. */
  const offeredValues = new Map<string, number>()
  const addOffered = (samples: readonly CounterSample[]) => {
    for (const { name, help, value } of samples) {
      if (!offeredValues.has(name)) r.counterFrom(n(name), help, () => offeredValues.get(name))
      offeredValues.set(name, value)
    }
  }

  const done = () => {
    if (inFlight > 0) inFlight--
  }

  function snapshot(health: HealthSnapshot): void {
    for (const g of [up, circuit, backendInFlight, gpuUsed, gpuTotal, gpuUtil, gpuTemp]) g.reset()
    for (const b of health.backends) {
      up.set({ backend: b.name }, b.up ? 1 : 0)
      for (const state of CIRCUIT_STATES) circuit.set({ backend: b.name, state }, b.circuit === state ? 1 : 0)
      backendInFlight.set({ backend: b.name }, b.inFlight)
    }
    for (const gpu of health.gpus) {
      const labels = { gpu: String(gpu.index), gpu_uuid: gpu.uuid ?? '' }
      if (gpu.memoryUsedMiB !== undefined) gpuUsed.set(labels, gpu.memoryUsedMiB * 1_048_576)
      if (gpu.memoryTotalMiB !== undefined) gpuTotal.set(labels, gpu.memoryTotalMiB * 1_048_576)
      if (gpu.utilization !== undefined) gpuUtil.set(labels, gpu.utilization / 100)
      if (gpu.temperature !== undefined) gpuTemp.set(labels, gpu.temperature)
    }
  }

  return {
    observe(e) {
      switch (e.stage) {
        case 'request':
          inFlight++
          return
        case 'cache':
          if (e.cache) cache.inc({ result: e.cache })
          // A hit is the whole answer: no select or response event follows.
          if (isCacheHit(e.cache)) {
            done()
            cacheHits.inc()
          }
          return
        case 'classify':
          if (e.classification) {
            const labels = { route: e.route ?? '', class: e.classification.label }
            decisions.inc({ ...labels, classifier: e.classification.classifier ?? '' })
            confidence.observe(labels, e.classification.confidence)
          }
          return
        case 'response': {
          done()
          // Model and backend are the resolved ones (config/discovery), never the client's raw model string.
          const b = seriesOf(e.route ?? '', e.classification?.label ?? '', e.model ?? '', e.backend ?? '', e.status ?? 0)
          b.requests.inc()
          if (e.durationMs !== undefined) b.duration.observe(e.durationMs / 1000)
          if (e.ttftMs !== undefined) b.ttft.observe(e.ttftMs / 1000)
          if (e.inputTokens !== undefined) (e.tokensEstimated ? b.estimatedInputTokens : b.inputTokens).inc(e.inputTokens)
          if (e.outputTokens !== undefined) (e.tokensEstimated ? b.estimatedOutputTokens : b.outputTokens).inc(e.outputTokens)
          if (e.fallbackCount) b.fallbacks.inc(e.fallbackCount)
          return
        }
        default:
          return
      }
    },
    render(health, counters = []) {
      inFlightGauge.set({}, inFlight)
      addOffered(counters)
      if (health) snapshot(health)
      return r.render()
    },
  }
}
