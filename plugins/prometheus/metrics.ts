/** The gateway's metric set: names, help, label names and buckets, and how PipelineEvents and health move them. */
import { type CounterSample, type HealthSnapshot, type PipelineEvent, isCacheHit } from 'switchyard/plugin'
import { type Registry, createRegistry } from './registry.ts'

/** Request duration includes the whole streamed body. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]
const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const
/** The team label of requests from keys in no team (or without auth): teams come from config, so the set is bounded. */
const NO_TEAM = 'none'

export interface GatewayMetrics {
  /** `costPerGpuHour` (config) turns GPU seconds saved into money. */
  observe(event: PipelineEvent, costPerGpuHour?: number): void
  render(health?: HealthSnapshot, counters?: readonly CounterSample[]): string
}

export function createGatewayMetrics(prefix: string): GatewayMetrics {
  const r: Registry = createRegistry()
  const n = (name: string) => `${prefix}_${name}`
  const requests = r.counter(n('requests_total'), 'Requests answered, by route, task class, model, backend, HTTP status and team (a configured team, or "none").', ['route', 'class', 'model', 'backend', 'status', 'team'])
  const duration = r.histogram(n('request_duration_seconds'), 'Time from request to the last byte of the answer (streams included).', ['route', 'model', 'backend'], DURATION_BUCKETS)
  const ttft = r.histogram(n('time_to_first_token_seconds'), 'Time from request to the first byte of the upstream answer.', ['model', 'backend'], TTFT_BUCKETS)
  const tokens = r.counter(n('tokens_total'), 'Tokens used upstream, by type (input or output) and team; estimated="true" where the gateway counted them itself (no usage from the backend, or a cut stream).', ['model', 'backend', 'token_type', 'estimated', 'team'])
  const decisions = r.counter(n('classifications_total'), 'Classifier decisions for virtual models, by route, class and classifier.', ['route', 'class', 'classifier'])
  const confidence = r.histogram(n('classification_confidence_ratio'), 'Confidence (0..1) of the winning classification.', ['route', 'class'], CONFIDENCE_BUCKETS)
  const cache = r.counter(n('cache_lookups_total'), 'Cache lookups by result: hit, semantic-hit, miss or bypass.', ['result'])
  const fallbacks = r.counter(n('fallbacks_total'), 'Upstream attempts that failed before another option answered.', ['route', 'model', 'backend'])
  const audits = r.counter(n('audits_total'), 'Drafts an auditor checked (route escalate), by route, class and outcome: pass, fail, or skipped (the auditor failed or timed out; the draft was sent).', ['route', 'class', 'outcome'])
  const escalations = r.counter(n('escalations_total'), 'Answers replaced by a larger model: reason "audit" (scored below the threshold) or "draft_failed".', ['from_model', 'to_model', 'reason'])
  const gpuSeconds = r.counter(n('gpu_seconds_total'), "GPU time of generations, by model, backend and team: the backend's own figures (Ollama), else tokens at the model's observed speed. Rejected drafts and cancelled generations included.", ['model', 'backend', 'team'])
  const saved = r.counter(n('gpu_seconds_saved_total'), "GPU seconds routing saved against the route's largest model, net of what the checks cost (rejected drafts, cancelled parallel generations, classifier and judge time) per request; requests that cost more than they saved count in gpu_seconds_overspent_total instead. Net savings: saved minus overspent.", ['route'])
  const overspent = r.counter(n('gpu_seconds_overspent_total'), "GPU seconds by which routed requests cost more than the route's largest model would have (typically escalations: the draft and the larger answer).", ['route'])
  const wasted = r.counter(n('gpu_seconds_wasted_total'), 'GPU seconds of work not sent to anyone: rejected_draft, cancelled (a parallel generation stopped when its draft passed), checks (classifier and judge model calls).', ['route', 'reason'])
  const costSaved = r.counter(n('cost_saved_total'), 'Money routing saved (gpu_seconds_saved_total at costPerGpuHour); only with costPerGpuHour set.', ['route'])
  const costOverspent = r.counter(n('cost_overspent_total'), 'Money routed requests cost over the largest model (gpu_seconds_overspent_total at costPerGpuHour); only with costPerGpuHour set.', ['route'])
  const inFlightGauge = r.gauge(n('inflight_requests'), 'Requests received and not yet answered to the end.', [])
  const up = r.gauge(n('backend_up'), 'Whether the last probe found the backend up (1) or not (0).', ['backend'])
  const circuit = r.gauge(n('backend_circuit_state'), 'Circuit breaker state per backend: 1 for the current state.', ['backend', 'state'])
  const backendInFlight = r.gauge(n('backend_inflight_requests'), 'Requests the gateway has open against a backend.', ['backend'])
  const gpuUsed = r.gauge(n('gpu_memory_used_bytes'), 'GPU memory in use, from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const gpuTotal = r.gauge(n('gpu_memory_total_bytes'), 'GPU memory in total, from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const gpuUtil = r.gauge(n('gpu_utilization_ratio'), 'GPU utilization (0..1), from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const gpuTemp = r.gauge(n('gpu_temperature_celsius'), 'GPU temperature, from nvidia-smi.', ['gpu', 'gpu_uuid'])
  const historyBacklog = r.gauge(n('history_backlog'), 'Decisions waiting to be written to each history store (grows while its database is away).', ['store'])
  const historyDropped = r.counter(n('history_dropped_total'), 'Decisions a history store dropped because its backlog was full.', ['store'])
  const droppedSeen = new Map<string, number>()
  const stateBackend = r.gauge(n('state_backend'), 'Where each part that several instances share keeps its state now: 1 for the current mode, shared (Redis, Postgres) or local (this instance alone, while the store is away).', ['component', 'mode'])
  // A count, not a set of request ids: every request event is followed by exactly one last event (a response or
  // a cache hit), and a set that takes and drops an id per request costs measurable time on the request path.
  let inFlight = 0

  // The series a response moves, per label combination (bounded like the labels): one lookup per response.
  const bundles = new Map<string, ReturnType<typeof bundle>>()
  const bundle = (route: string, cls: string, model: string, backend: string, status: number, team: string) => ({
    requests: requests.bind({ route, class: cls, model, backend, status: String(status), team }),
    duration: duration.bind({ route, model, backend }),
    ttft: ttft.bind({ model, backend }),
    inputTokens: tokens.bind({ model, backend, token_type: 'input', estimated: 'false', team }),
    outputTokens: tokens.bind({ model, backend, token_type: 'output', estimated: 'false', team }),
    estimatedInputTokens: tokens.bind({ model, backend, token_type: 'input', estimated: 'true', team }),
    estimatedOutputTokens: tokens.bind({ model, backend, token_type: 'output', estimated: 'true', team }),
    fallbacks: fallbacks.bind({ route, model, backend }),
    gpuSeconds: gpuSeconds.bind({ model, backend, team }),
  })
  const seriesOf = (route: string, cls: string, model: string, backend: string, status: number, team: string) => {
    const key = `${route}\u0000${cls}\u0000${model}\u0000${backend}\u0000${status}\u0000${team}`
    let b = bundles.get(key)
    if (!b) bundles.set(key, (b = bundle(route, cls, model, backend, status, team)))
    return b
  }

  /** The classify event's series per route, class and classifier: bound once, not looked up by labels per request. */
  const classified = new Map<string, { readonly decisions: ReturnType<typeof decisions.bind>; readonly confidence: ReturnType<typeof confidence.bind> }>()
  const classifiedOf = (route: string, cls: string, classifier: string) => {
    const key = `${route}\u0000${cls}\u0000${classifier}`
    let c = classified.get(key)
    if (!c) classified.set(key, (c = { decisions: decisions.bind({ route, class: cls, classifier }), confidence: confidence.bind({ route, class: cls }) }))
    return c
  }

  /** A cache hit counts as a 200 with no route, class, model or backend (per team). */
  const cacheHits = (team: string) => seriesOf('', '', '', '', 200, team).requests

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

  /** Audits, escalations, GPU time and savings of a finished request. */
  /** `answer`: the response's own series, which the answering generation's GPU time moves without a lookup. */
  function account(e: PipelineEvent, answer: ReturnType<typeof bundle>, costPerGpuHour: number | undefined): void {
    const route = e.route ?? ''
    for (const a of e.audits ?? []) audits.inc({ route, class: e.classification?.label ?? '', outcome: a.outcome })
    if (e.escalation) escalations.inc({ from_model: e.escalation.from, to_model: e.escalation.to, reason: e.escalation.reason })
    for (const use of e.gpu ?? []) {
      if (use.model === e.model && use.backend === e.backend) answer.gpuSeconds.inc(use.seconds)
      else gpuSeconds.inc({ model: use.model, backend: use.backend, team: e.team ?? NO_TEAM }, use.seconds)
      if (use.role !== 'answer') wasted.inc({ route, reason: use.role === 'rejected' ? 'rejected_draft' : 'cancelled' }, use.seconds)
    }
    if (e.overheadGpuSeconds) wasted.inc({ route, reason: 'checks' }, e.overheadGpuSeconds)
    const net = e.gpuSecondsSaved
    if (net === undefined || !route) return
    const rate = costPerGpuHour === undefined ? undefined : costPerGpuHour / 3600
    if (net >= 0) {
      saved.inc({ route }, net)
      if (rate !== undefined) costSaved.inc({ route }, net * rate)
    } else {
      overspent.inc({ route }, -net)
      if (rate !== undefined) costOverspent.inc({ route }, -net * rate)
    }
  }

  function snapshot(health: HealthSnapshot): void {
    for (const g of [up, circuit, backendInFlight, gpuUsed, gpuTotal, gpuUtil, gpuTemp, stateBackend]) g.reset()
    historyBacklog.reset()
    for (const h of health.history ?? []) {
      historyBacklog.set({ store: h.name }, h.pending)
      const grew = h.dropped - (droppedSeen.get(h.name) ?? 0)
      if (grew > 0) historyDropped.inc({ store: h.name }, grew)
      droppedSeen.set(h.name, h.dropped)
    }
    for (const s of health.state ?? []) {
      stateBackend.set({ component: s.component, mode: 'shared' }, s.mode === 'shared' ? 1 : 0)
      stateBackend.set({ component: s.component, mode: 'local' }, s.mode === 'local' ? 1 : 0)
    }
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
    observe(e, costPerGpuHour) {
      switch (e.stage) {
        case 'request':
          inFlight++
          return
        case 'cache':
          if (e.cache) cache.inc({ result: e.cache })
          // A hit is the whole answer: no select or response event follows.
          if (isCacheHit(e.cache)) {
            done()
            cacheHits(e.team ?? NO_TEAM).inc()
          }
          return
        case 'classify':
          if (e.classification) {
            const c = classifiedOf(e.route ?? '', e.classification.label, e.classification.classifier ?? '')
            c.decisions.inc()
            c.confidence.observe(e.classification.confidence)
          }
          return
        case 'response': {
          done()
          // Model and backend are the resolved ones (config/discovery), never the client's raw model string.
          const b = seriesOf(e.route ?? '', e.classification?.label ?? '', e.model ?? '', e.backend ?? '', e.status ?? 0, e.team ?? NO_TEAM)
          b.requests.inc()
          if (e.durationMs !== undefined) b.duration.observe(e.durationMs / 1000)
          if (e.ttftMs !== undefined) b.ttft.observe(e.ttftMs / 1000)
          if (e.inputTokens !== undefined) (e.tokensEstimated ? b.estimatedInputTokens : b.inputTokens).inc(e.inputTokens)
          if (e.outputTokens !== undefined) (e.tokensEstimated ? b.estimatedOutputTokens : b.outputTokens).inc(e.outputTokens)
          if (e.fallbackCount) b.fallbacks.inc(e.fallbackCount)
          if (e.gpu || e.audits) account(e, b, costPerGpuHour)
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
