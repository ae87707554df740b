/** The plugin contract: kinds, hooks, definitions, context, and the plain data types hooks exchange. */
import type { MiddlewareHandler } from 'hono'
import type * as v from 'valibot'

export const PLUGIN_KINDS = ['classifier', 'selector', 'probe', 'cache', 'telemetry', 'middleware', 'history', 'auditor'] as const
export type PluginKind = (typeof PLUGIN_KINDS)[number]

export const TASK_CLASSES = ['SIMPLE', 'MODERATE', 'COMPLEX'] as const
export type TaskClass = (typeof TASK_CLASSES)[number]

/** A class's place in the order SIMPLE < MODERATE < COMPLEX. */
export const classRank = (label: TaskClass): number => TASK_CLASSES.indexOf(label)
/** One class up (COMPLEX stays COMPLEX): what a "too weak" verdict means. */
export const classAbove = (label: TaskClass): TaskClass => TASK_CLASSES[Math.min(classRank(label) + 1, TASK_CLASSES.length - 1)]!
/** One class down (SIMPLE stays SIMPLE): what a "too strong" verdict means. */
export const classBelow = (label: TaskClass): TaskClass => TASK_CLASSES[Math.max(classRank(label) - 1, 0)]!

export const PROTOCOLS = ['openai', 'ollama'] as const
export type Protocol = (typeof PROTOCOLS)[number]

export const OPERATIONS = ['chat', 'generate', 'completion', 'embed'] as const
export type Operation = (typeof OPERATIONS)[number]

export const BACKEND_KINDS = ['ollama', 'openai'] as const
export type BackendKind = (typeof BACKEND_KINDS)[number]

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/** One message of a normalized request. `content` is the text; images are only counted. */
export interface ChatMessage {
  readonly role: string
  readonly content: string
  readonly images?: number
}

/**
 * A request normalized across protocols. `messages` holds the conversation for chat, and for
 * generate/completion the system text (if any) plus the prompt as a user message.
 * `body` is the client's parsed JSON as sent, so nothing the client set is lost.
 */
export interface ChatRequest {
  readonly protocol: Protocol
  readonly operation: Operation
  readonly model: string
  readonly messages: readonly ChatMessage[]
  readonly stream: boolean
  readonly maxTokens?: number
  readonly temperature?: number
  readonly seed?: number
  readonly tools?: number
  readonly body: Readonly<Record<string, unknown>>
}

export type ClassScores = Readonly<Record<TaskClass, number>>

export interface Classification {
  readonly label: TaskClass
  readonly confidence: number
  readonly scores: ClassScores
  readonly reasons: readonly string[]
  readonly task?: string
  /** Which classifier (or cascade stage) decided; filled by the core when absent. */
  readonly classifier?: string
  /** The client set the class (`x-switchyard-class`); the classifier's own answer is in `reasons`. */
  readonly forced?: boolean
  /** The classifier's model version (a learned classifier's weights), recorded with the decision. */
  readonly version?: string
  /** The inputs the decision was made from, recorded so a retrain needs no prompt text. */
  readonly features?: ClassifierFeatures
  /** GPU seconds the classifier's own model calls took (an LLM classifier), taken from the routing's savings. */
  readonly gpuSeconds?: number
}

/** A classifier's feature vector: sparse hashed entries (`index`/`value`) plus dense features. */
export interface ClassifierFeatures {
  readonly index: ArrayLike<number>
  readonly value: ArrayLike<number>
  readonly dense: ArrayLike<number>
}

/** A draft answer as an auditor sees it: its text (the content the client would read), who wrote it and how it ended. */
export interface AuditAnswer {
  readonly text: string
  readonly model: string
  /** How the generation ended as the backend said it (`stop`, `length`, ...); `length` means a token limit cut it. */
  readonly finishReason?: string
  readonly outputTokens?: number
  /** The client set a token limit (max_tokens / num_predict): a cut at that limit is what the client asked for. */
  readonly clientLimit?: number
}

/** An auditor's verdict: 0 (useless) .. 1 (fine), with the reasons that lowered it. */
export interface AuditResult {
  readonly score: number
  readonly reasons: readonly string[]
  /** GPU seconds the audit itself spent (a judge model), subtracted from the savings. */
  readonly gpuSeconds?: number
}

/** Where a label on a recorded decision came from; explicit sources weigh more than implicit ones in a retrain. */
export const LABEL_SOURCES = ['feedback', 'verdict', 'forced', 'retry', 'escalation'] as const
export type LabelSource = (typeof LABEL_SOURCES)[number]
/** Sources a client stated outright; the rest are inferred from behaviour (and can be turned off). */
export const EXPLICIT_LABEL_SOURCES: readonly LabelSource[] = ['feedback', 'verdict', 'forced']

export type CircuitState = 'closed' | 'open' | 'half-open'

/** What the cache did for a request: answered it (exactly or by similarity), missed, or was not used. */
export type CacheStatus = 'hit' | 'miss' | 'bypass' | 'semantic-hit'

/** Answered from a cache (exact or semantic hit): then no upstream answer and no `response` event follow. */
export const isCacheHit = (status: string | null | undefined): boolean => status === 'hit' || status === 'semantic-hit'

/** A request's last event: its `response`, or a cache hit (then no response event follows). It carries the whole decision. */
export const isFinalEvent = (event: { readonly stage: string; readonly cache?: string }): boolean =>
  event.stage === 'response' || (event.stage === 'cache' && isCacheHit(event.cache))

export interface ModelInfo {
  readonly name: string
  readonly parameterSize?: string
  readonly parameters?: number
  readonly quantization?: string
  readonly sizeBytes?: number
  readonly family?: string
  readonly contextLength?: number
}

export interface LoadedModel {
  readonly name: string
  readonly sizeVramBytes?: number
  readonly expiresAt?: string
}

/** What the core knows of one backend at the moment of a decision (an immutable snapshot). */
export interface BackendView {
  readonly name: string
  readonly kind: BackendKind
  readonly url: string
  readonly up: boolean | undefined
  readonly latencyMs?: number
  readonly models: readonly ModelInfo[]
  readonly loaded: readonly LoadedModel[]
  readonly inFlight: number
  readonly maxConcurrency?: number
  readonly circuit: CircuitState
  /** Models whose (backend, model) circuit is open: recent failures of that model on this backend. */
  readonly openModels: readonly string[]
  readonly gpus: readonly GpuReport[]
  readonly ewmaLatencyMs?: number
  readonly ewmaTtftMs?: number
}

export interface SelectInput {
  readonly request: ChatRequest
  /** Virtual model name when the request was for a route such as `auto`. */
  readonly route?: string
  readonly classification?: Classification
  /** Ordered candidate models: the route's list for the class, or the one named model. */
  readonly candidates: readonly string[]
  readonly backends: readonly BackendView[]
}

export interface SelectionOption {
  readonly model: string
  readonly backend: string
}

export interface Selection {
  readonly model: string
  readonly backend: string
  readonly reasons: readonly string[]
  /** Further options to try, in order, when the first fails before any byte reached the client. */
  readonly fallbacks?: readonly SelectionOption[]
}

/** A complete upstream answer as the client saw it, storable and replayable. */
export interface CacheEntry {
  readonly status: number
  readonly contentType: string
  readonly model: string
  readonly backend: string
  /** The body as chunks, in the order they were sent; a non-streamed body is one chunk. */
  readonly chunks: readonly string[]
  readonly createdAt: number
  /** Set by a semantic cache on a hit: cosine similarity of the matched request. */
  readonly similarity?: number
}

export interface GpuReport {
  readonly index: number
  readonly uuid?: string
  readonly name?: string
  readonly memoryTotalMiB?: number
  readonly memoryUsedMiB?: number
  readonly memoryFreeMiB?: number
  readonly utilization?: number
  readonly temperature?: number
  readonly powerDrawW?: number
  readonly powerLimitW?: number
}

export interface BackendReport {
  readonly name: string
  readonly up: boolean
  readonly latencyMs?: number
  readonly models?: readonly ModelInfo[]
  readonly loaded?: readonly LoadedModel[]
  readonly error?: string
  /** Server-side load where the backend exposes it (vLLM / llama.cpp metrics). */
  readonly running?: number
  readonly waiting?: number
  readonly kvCacheUsage?: number
}

export interface HealthReport {
  readonly backends?: readonly BackendReport[]
  readonly gpus?: readonly GpuReport[]
  /** The probe itself could not run (for example, no nvidia-smi binary). */
  readonly unavailable?: string
}

/** One routing decision as the decision history keeps it (one per generation request that got past parsing). */
export interface DecisionRecord {
  readonly id: string
  readonly timeMs: number
  /** The client key's name, when auth is on. */
  readonly client?: string
  /** The client key's team, when it is in one. */
  readonly team?: string
  readonly protocol: Protocol
  readonly operation: Operation
  /** The model name the client asked for (a route such as `auto`, or a concrete model). */
  readonly requested: string
  readonly route?: string
  readonly label?: TaskClass
  readonly confidence?: number
  readonly classifier?: string
  readonly classifierVersion?: string
  /** The class was set by the client (`x-switchyard-class`), not by a classifier. */
  readonly forced?: boolean
  readonly model?: string
  readonly backend?: string
  readonly status: number
  readonly cache?: CacheStatus
  readonly latencyMs: number
  readonly ttftMs?: number
  readonly inputTokens?: number
  readonly outputTokens?: number
  /** `draft model -> final model` when an auditor escalated the answer. */
  readonly escalation?: string
  readonly error?: string
  /** A hash of the conversation's text (same prompt, same hash), for implicit feedback and de-duplication. */
  readonly promptHash: string
  readonly features?: ClassifierFeatures
  /** The prompt text, only when the history store is set to keep prompts. */
  readonly prompt?: string
}

/** A recorded decision with the label a correction gave it. */
export interface LabelledDecision extends DecisionRecord {
  readonly correct: TaskClass
  readonly source: LabelSource
  readonly labelledAtMs: number
}

export interface HistoryState {
  readonly mode: 'file' | 'memory' | 'shared' | 'local'
  readonly failing: boolean
  readonly pending: number
  readonly dropped: number
}

export interface HistoryQuery {
  readonly limit: number
  readonly route?: string
  readonly label?: TaskClass
  readonly sinceMs?: number
  readonly client?: string
  readonly team?: string
}

export type PipelineStage = 'request' | 'cache' | 'classify' | 'select' | 'attempt' | 'response'

/**
 * What telemetry observes, once per stage. A request's last event (`response`, or `cache` with a hit) carries
 * the whole decision (`request`, `route`, `classification`, `selection`, `cache`, `durationMs`), so an observer
 * needs no state per request to describe it.
 */
export interface PipelineEvent {
  readonly stage: PipelineStage
  readonly requestId: string
  readonly timeMs: number
  /** The client key's name (final events of authenticated requests). */
  readonly client?: string
  /** The client key's team, when it is in one (final events). */
  readonly team?: string
  readonly request?: ChatRequest
  readonly route?: string
  readonly classification?: Classification
  readonly selection?: Selection
  readonly cache?: CacheStatus
  readonly backend?: string
  readonly model?: string
  readonly status?: number
  readonly error?: string
  readonly durationMs?: number
  readonly ttftMs?: number
  readonly inputTokens?: number
  readonly outputTokens?: number
  /** `inputTokens` or `outputTokens` is the gateway's estimate: the upstream reported no usage, or the stream was cut. */
  readonly tokensEstimated?: boolean
  readonly fallbackCount?: number
  /** GPU seconds the request spent, per generation: the answer sent, rejected drafts, cancelled parallel generations. */
  readonly gpu?: readonly GpuUse[]
  /** Net GPU seconds routing saved against the route's largest model (negative when checking cost more); routed answers only. */
  readonly gpuSecondsSaved?: number
  /** GPU seconds the decision itself spent (a classifier's or a judge's own model calls), already taken from the savings. */
  readonly overheadGpuSeconds?: number
  /** The audits of the request's drafts (a route's `escalate`), in order. */
  readonly audits?: readonly AuditRecord[]
  readonly escalation?: EscalationRecord
}

/** One generation's GPU time: the answer sent, a draft the auditor rejected, or a parallel generation cancelled. */
export interface GpuUse {
  readonly model: string
  readonly backend: string
  readonly seconds: number
  readonly role: 'answer' | 'rejected' | 'cancelled'
}

/** An auditor's verdict on one draft: `skipped` when the auditor failed or timed out (the draft then passes). */
export interface AuditRecord {
  readonly auditor: string
  readonly model: string
  readonly score: number
  readonly reasons: readonly string[]
  readonly outcome: 'pass' | 'fail' | 'skipped'
  readonly threshold: number
}

/** A draft replaced by a larger model's answer: why, and how (buffer or parallel). */
export interface EscalationRecord {
  readonly from: string
  readonly to: string
  /** `audit`: scored below the threshold; `draft_failed`: the draft's generation failed. */
  readonly reason: 'audit' | 'draft_failed'
  readonly mode: 'buffer' | 'parallel'
  /** The class the answer came from. */
  readonly label: TaskClass
}

/** What a retrain is given: every labelled decision, where versions live, and the limits on the class bias. */
export interface RetrainInput {
  readonly labelled: readonly LabelledDecision[]
  /** Directory where versioned weights are written: the gateway's state folder (where setup finds them after a restart). */
  readonly dir: string
  readonly bias: { readonly min: number; readonly max: number }
  readonly signal: AbortSignal
}

/** A retrain's verdict: whether the candidate was promoted, and every figure the decision was made from. */
export interface RetrainResult {
  readonly promoted: boolean
  /** The version in use after the retrain (the new one when promoted). */
  readonly version: string
  readonly candidate?: string
  readonly before: Readonly<Record<string, unknown>>
  readonly after: Readonly<Record<string, unknown>>
  readonly reason: string
}

export interface RollbackResult {
  readonly version: string
  readonly previous: string
}

export interface Hooks {
  classifier: {
    classify(req: ChatRequest, signal: AbortSignal): Classification | Promise<Classification>
    /** The model version in use now (changes when a retrain is promoted or rolled back). */
    version?(): string
    /** Train a candidate on the labelled decisions and promote it when it is better; never two at once. */
    retrain?(input: RetrainInput): Promise<RetrainResult>
    /** Go back to the version in use before the last promotion. */
    rollback?(dir: string): Promise<RollbackResult>
    /** The version serving now, serialized, for other instances of the gateway to adopt (see history `publishVersion`). */
    exportVersion?(dir: string): Promise<{ readonly version: string; readonly payload: string }>
    /** Serve a version another instance promoted (kept under `dir` like its own); false when it serves it already. */
    adoptVersion?(dir: string, version: string, payload: string): Promise<boolean>
  }
  selector: {
    select(input: SelectInput, signal: AbortSignal): Selection | undefined | Promise<Selection | undefined>
  }
  probe: { readonly intervalMs?: number; readonly timeoutMs?: number; check(signal: AbortSignal): Promise<HealthReport> }
  /** `request` is the normalized request the key was made from (a semantic cache embeds its text). */
  cache: {
    /** When true, this cache also serves non-deterministic requests (temperature > 0 without a seed). */
    readonly cacheNondeterministic?: boolean
    /**
     * When true, the cache answers from this process's memory: no lookup deadline (and no timer) is set up, and
     * `get`/`set` may answer directly instead of with a promise, which keeps a lookup off the microtask queue.
     */
    readonly inProcess?: boolean
    get(key: string, signal: AbortSignal, request: ChatRequest): CacheEntry | undefined | Promise<CacheEntry | undefined>
    set(key: string, entry: CacheEntry, request: ChatRequest): void | Promise<void>
  }
  /**
   * Telemetry observes events; it may also serve read-only endpoints such as `/metrics` or `/dashboard`, and offer
   * counters of its own (the `otel` plugin's dropped spans) to whichever plugin exports metrics.
   */
  telemetry: { observe?(event: PipelineEvent): void; readonly routes?: readonly PluginRoute[]; counters?(): readonly CounterSample[] }
  middleware: { handle: MiddlewareHandler }
  /**
   * Checks a draft answer before it is sent (a route's `escalate`): below the route's threshold the request goes to
   * the next class's model. Must not throw for a usable draft; a throw or a timeout counts as a pass with a reason.
   */
  auditor: {
    audit(request: ChatRequest, answer: AuditAnswer, signal: AbortSignal): AuditResult | Promise<AuditResult>
    /** Longest the gateway waits for a verdict (default 2,000 ms); then the draft passes, with a reason. */
    readonly timeoutMs?: number
  }
  /** The decision history: one record per request, labels from feedback, and what a retrain reads. */
  history: {
    /** Queue a decision for writing; must return at once (writes are batched off the request path). */
    record(decision: DecisionRecord): void
    /** Attach a label; false when no decision has that id. A later label for the same id replaces the earlier. */
    label(requestId: string, label: TaskClass, source: LabelSource): boolean | Promise<boolean>
    get(requestId: string): DecisionRecord | undefined | Promise<DecisionRecord | undefined>
    /** Recent decisions, newest first. */
    list(query: HistoryQuery): readonly DecisionRecord[] | Promise<readonly DecisionRecord[]>
    /** Every decision that has a label, oldest first. */
    labelled(): readonly LabelledDecision[] | Promise<readonly LabelledDecision[]>
    /** The most recent decision of this client for this prompt hash since `sinceMs` (implicit feedback). */
    findPrevious?(client: string, promptHash: string, sinceMs: number): DecisionRecord | undefined | Promise<DecisionRecord | undefined>
    /** Write what is queued now (tests, shutdown). */
    flush?(): Promise<void>
    /**
     * Where decisions go (`file`; `memory` when the store could not be opened), whether writes are failing now, the
     * decisions waiting to be written, and those dropped because that backlog was full. Shown in /health.
     */
    state?(): HistoryState
    /** The store keeps prompt text: only then does the core put it in the record. */
    readonly storesPrompts?: boolean
    /**
     * A store shared by several gateway instances can carry classifier promotions between them: `publishVersion`
     * stores a promoted (or rolled-back-to) version and announces it; `subscribeVersions` calls `onVersion` for each
     * version another instance publishes (and once for the latest one when it starts), within seconds.
     */
    publishVersion?(classifier: string, version: string, payload: string): Promise<void>
    subscribeVersions?(onVersion: (classifier: string, version: string, payload: string) => void): void
  }
}

/** A monotonic count a telemetry plugin offers: `name` without a metric prefix (`otel_spans_dropped_total`). */
export interface CounterSample {
  readonly name: string
  readonly help: string
  readonly value: number
}

/** An HTTP endpoint a plugin serves through the gateway (plain Request/Response, no Hono). */
export interface PluginRoute {
  readonly method: 'GET' | 'POST'
  /** Exact path, e.g. `/metrics`; a trailing `*` matches any rest, e.g. `/dashboard/*`. */
  readonly path: string
  /** Served without the admin key (a page shell, static assets); endpoints with data leave this unset. */
  readonly public?: boolean
  handle(req: Request): Response | Promise<Response>
}

/**
 * Where a plugin keeps state several gateway instances must share (a Redis cache, a Postgres history): `shared`
 * while that store answers, `local` while the plugin makes do on its own (per instance, or not at all). Shown in
 * /health and as `switchyard_state_backend{component,mode}`; the gateway logs a warning each minute while local.
 */
export interface StateBackend {
  readonly component: string
  readonly mode: 'shared' | 'local'
  /** What is wrong while local (the last error). */
  readonly detail?: string
}

export type PluginInstance<K extends PluginKind = PluginKind> = Hooks[K] & {
  close?(): void | Promise<void>
  /** Only plugins that share state between instances: see StateBackend. */
  stateBackend?(): StateBackend
}

/** Read-only facts about the gateway a plugin may need in setup (backends, for probes). */
export interface GatewayInfo {
  readonly backends: readonly {
    readonly name: string
    readonly kind: BackendKind
    readonly url: string
    readonly gpu?: readonly number[]
    /** Headers every request to this backend carries (configured `headers`, and `apiKey` as a Bearer token). */
    readonly headers?: Readonly<Record<string, string>>
  }[]
  /** The live health snapshot, read-only (telemetry exports backend, circuit and GPU state from it). */
  readonly health?: () => HealthSnapshot
  /** Counters the config's telemetry plugins offer, read at scrape time. */
  readonly counters?: () => readonly CounterSample[]
  /** What one GPU hour costs (config `costPerGpuHour`), to turn GPU seconds saved into money. */
  readonly costPerGpuHour?: number
}

export interface HealthSnapshot {
  readonly backends: readonly BackendView[]
  readonly gpus: readonly GpuReport[]
  /** Parts that keep state shared between gateway instances, and whether they do now. */
  readonly state?: readonly StateBackend[]
  /** Each decision history store's write backlog and what it dropped. */
  readonly history?: readonly { readonly name: string; readonly pending: number; readonly dropped: number }[]
}

export interface PluginContext<O> {
  readonly name: string
  readonly options: O
  readonly signal: AbortSignal
  readonly log: Logger
  readonly gateway: GatewayInfo
  /** Directory of the config file, for plugins that read files relative to it. */
  readonly baseDir: string
  /**
   * Directory where the gateway keeps state (decision history, classifier versions): config `stateDir`, else
   * `$SWITCHYARD_STATE_DIR`, else the config file's directory. Absent outside a gateway: use `baseDir`.
   */
  readonly stateDir?: string
  /**
   * State that outlives a config reload (counters, cache entries): the first setup's `create()` makes it, and a
   * setup after a reload gets the same value back for the same plugin name and key. Put in the key whatever would
   * make old state wrong (an embedding model, a metric prefix). State the new config's plugins no longer ask for is
   * dropped once they have started. A plugin that keeps state must not destroy it in `close()`.
   */
  keep<T>(key: string, create: () => T): T
}

export interface PluginDefinition<K extends PluginKind = PluginKind, S extends v.GenericSchema = v.GenericSchema> {
  readonly name: string
  readonly kind: K
  readonly options: S
  setup(ctx: PluginContext<v.InferOutput<S>>): PluginInstance<K> | Promise<PluginInstance<K>>
}
