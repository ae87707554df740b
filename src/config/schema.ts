/** The config file's schema (valibot, strict): the schema is the type. */
import * as v from 'valibot'
import { BREAKER_DEFAULTS } from '../health/breaker.ts'
import { BACKEND_KINDS, TASK_CLASSES } from '../plugin/types.ts'

const Name = v.pipe(v.string(), v.minLength(1))
const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1))
const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535))
const HttpUrl = v.pipe(
  v.string(),
  v.url(),
  v.check((s) => /^https?:\/\//.test(s), 'must be an http:// or https:// URL'),
  v.transform((s) => s.replace(/\/+$/, '')),
)

export const ServerConfig = v.strictObject({
  host: v.optional(Name, '127.0.0.1'),
  port: v.optional(Port, 3333),
  /** Largest request body accepted; larger bodies get 413. */
  maxBodyBytes: v.optional(PositiveInt, 16 * 1024 * 1024),
  /** Deadline for a whole upstream attempt (headers and body). */
  requestTimeoutMs: v.optional(PositiveInt, 600_000),
  /** Time allowed for an upstream's first byte when the model is loaded. */
  firstByteTimeoutMs: v.optional(PositiveInt, 60_000),
  /** Time allowed for the first byte when the model is not loaded (cold start). */
  coldStartTimeoutMs: v.optional(PositiveInt, 300_000),
  /** Longest wait in a backend's queue before the request is refused (503). */
  queueTimeoutMs: v.optional(PositiveInt, 30_000),
  /** Seconds a connection may stay silent (Bun's idleTimeout, max 255); proxied requests use the deadlines above. */
  idleTimeoutS: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)), 120),
  /** Reload whenever the config file, or a plugin file it names by path, changes (as SIGHUP does). */
  watchConfig: v.optional(v.boolean(), false),
  /** Upstream attempts per request, fallbacks included. */
  maxAttempts: v.optional(PositiveInt, 3),
  /** Listen on a non-loopback address with no client keys (anyone who reaches the port may use the models). */
  allowUnauthenticated: v.optional(v.boolean(), false),
})
export type ServerConfig = v.InferOutput<typeof ServerConfig>

const GpuIndex = v.pipe(v.number(), v.integer(), v.minValue(0))

export const BackendConfig = v.strictObject({
  name: Name,
  kind: v.picklist(BACKEND_KINDS),
  url: HttpUrl,
  /** GPU index (or indexes) this backend runs on, as nvidia-smi numbers them; always a list once parsed. */
  gpu: v.optional(
    v.pipe(
      v.union([GpuIndex, v.array(GpuIndex)]),
      v.transform((gpu) => (Array.isArray(gpu) ? gpu : [gpu])),
    ),
  ),
  /** Requests in flight at once on this backend; more wait in a queue. */
  maxConcurrency: v.optional(PositiveInt),
  /** Requests allowed to wait for a slot; beyond that the gateway answers 429 with Retry-After. */
  maxQueue: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 16),
  /** Extra headers sent upstream, e.g. for a hosted OpenAI-compatible server. */
  headers: v.optional(v.record(v.string(), v.string())),
  apiKey: v.optional(v.string()),
})
export type BackendConfig = v.InferOutput<typeof BackendConfig>

export const ModelConfig = v.strictObject({
  backends: v.optional(v.array(Name)),
  /** Other models that may answer when this one cannot; announced in response headers. */
  fallbacks: v.optional(v.array(Name)),
  keepWarm: v.optional(v.boolean()),
})
export type ModelConfig = v.InferOutput<typeof ModelConfig>

const ModelList = v.array(Name)

export const ESCALATION_MODES = ['buffer', 'parallel'] as const

/**
 * Draft and audit: a request of one of `classes` is answered by that class's model, an auditor scores the answer,
 * and below `threshold` the next class's model answers instead (at most `maxEscalations` steps up).
 */
export const EscalateConfig = v.strictObject({
  /** An auditor plugin's name (its `as`, else its `use`); a built-in one need not be listed under `plugins`. */
  auditor: v.optional(Name, 'heuristic-auditor'),
  threshold: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.5),
  /** `buffer`: draft, audit, then send or replace. `parallel`: the next class's model starts at once on another backend. */
  mode: v.optional(v.picklist(ESCALATION_MODES), 'buffer'),
  maxEscalations: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2)), 1),
  classes: v.optional(v.pipe(v.array(v.picklist(TASK_CLASSES)), v.minLength(1)), ['SIMPLE', 'MODERATE']),
})
export type EscalateConfig = v.InferOutput<typeof EscalateConfig>

export const RouteConfig = v.strictObject({
  SIMPLE: v.optional(ModelList, []),
  MODERATE: v.optional(ModelList, []),
  COMPLEX: v.optional(ModelList, []),
  /** Class used when classification fails. */
  default: v.optional(v.picklist(TASK_CLASSES), 'MODERATE'),
  /**
   * The cost/quality dial: added to each class's log-score before the label is picked. `{ "COMPLEX": -0.5 }`
   * sends fewer prompts to the large model; positive values send more.
   */
  bias: v.optional(
    v.strictObject({ SIMPLE: v.optional(v.number()), MODERATE: v.optional(v.number()), COMPLEX: v.optional(v.number()) }),
  ),
  /** Turns of one conversation keep the class it reached and the backend that served it; `false` turns that off. */
  affinity: v.optional(v.boolean(), true),
  /** Check the small model's answer and escalate when it falls short; off when absent. */
  escalate: v.optional(EscalateConfig),
})
export type RouteConfig = v.InferOutput<typeof RouteConfig>

export const PluginEntry = v.strictObject({
  use: Name,
  as: v.optional(Name),
  options: v.optional(v.record(v.string(), v.unknown()), {}),
  enabled: v.optional(v.boolean(), true),
})
export type PluginEntry = v.InferOutput<typeof PluginEntry>

/** Passive health: when a backend's (or a model's) circuit opens after failures, and for how long. */
export const HealthConfig = v.strictObject({
  failureThreshold: v.optional(PositiveInt, BREAKER_DEFAULTS.failureThreshold),
  openMs: v.optional(PositiveInt, BREAKER_DEFAULTS.openMs),
  /** Also open when, within `windowMs`, at least `minRequests` outcomes were seen and this share of them failed. */
  failureRate: v.optional(
    v.strictObject({
      threshold: v.pipe(v.number(), v.gtValue(0), v.maxValue(1)),
      windowMs: PositiveInt,
      minRequests: PositiveInt,
    }),
  ),
})
export type HealthConfig = v.InferOutput<typeof HealthConfig>

/** A client key: the literal `key`, or `keyEnv` naming an environment variable that holds it. */
export const ApiKeyConfig = v.pipe(
  v.strictObject({
    name: v.optional(Name),
    key: v.optional(v.pipe(v.string(), v.minLength(8, 'keys must be at least 8 characters'))),
    keyEnv: v.optional(Name),
    /** Models (or routes) this key may use; omitted: all. */
    models: v.optional(v.array(Name)),
    /** The team the key belongs to (or list the key under `auth.teams[].keys`). */
    team: v.optional(Name),
    requestsPerMinute: v.optional(PositiveInt),
    /** Prompt plus output tokens per minute; a budget of 0 would refuse everything, so it is a config error. */
    tokensPerMinute: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1, 'tokensPerMinute must be at least 1: a budget of 0 would refuse every request (to shut a key out, remove it)'))),
    /** Output tokens a request reserves against `tokensPerMinute` when it sets no max_tokens / num_predict (default 512, at most the budget). */
    reserveTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  }),
  v.check((k) => (k.key === undefined) !== (k.keyEnv === undefined), 'set exactly one of `key` and `keyEnv`'),
  v.check((k) => k.reserveTokens === undefined || k.tokensPerMinute !== undefined, 'reserveTokens needs tokensPerMinute (it is reserved against that budget)'),
  v.check((k) => k.reserveTokens === undefined || k.tokensPerMinute === undefined || k.reserveTokens <= k.tokensPerMinute, 'reserveTokens must not be more than tokensPerMinute'),
)
export type ApiKeyConfig = v.InferOutput<typeof ApiKeyConfig>

const ClassModels = v.strictObject({ SIMPLE: v.optional(ModelList), MODERATE: v.optional(ModelList), COMPLEX: v.optional(ModelList) })

/**
 * A team: keys share its allow-list (on top of their own), its route overrides and class bias, and its budgets
 * (shared by every instance through `auth.redis`, like the keys' own).
 */
export const TeamConfig = v.strictObject({
  name: Name,
  /** Key names (`auth.keys[].name`) in the team; a key may also name its `team`. */
  keys: v.optional(v.array(Name), []),
  /** Models (or routes) the team's keys may use; omitted: all. A key's own list applies as well. */
  models: v.optional(v.array(Name)),
  /** Per route, the team's own candidates for some classes (the others stay the route's). */
  routes: v.optional(v.record(Name, ClassModels)),
  /** Added to the route's class bias for the team's requests (the cost/quality dial per team). */
  bias: v.optional(v.strictObject({ SIMPLE: v.optional(v.number()), MODERATE: v.optional(v.number()), COMPLEX: v.optional(v.number()) })),
  requestsPerMinute: v.optional(PositiveInt),
  tokensPerMinute: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1, 'tokensPerMinute must be at least 1: a budget of 0 would refuse every request'))),
  /** GPU seconds the team's requests may spend per UTC day (generations, rejected drafts and cancelled ones included). */
  gpuSecondsPerDay: v.optional(v.pipe(v.number(), v.gtValue(0))),
  reserveTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
})
export type TeamConfig = v.InferOutput<typeof TeamConfig>

export const AuthConfig = v.strictObject({
  keys: v.optional(v.array(ApiKeyConfig), []),
  teams: v.optional(v.array(TeamConfig), []),
  /** Required for /router/explain, /health details, /metrics, /dashboard and reload when set. */
  adminKey: v.optional(v.pipe(v.string(), v.minLength(8, 'keys must be at least 8 characters'))),
  adminKeyEnv: v.optional(Name),
  /** Keep rate-limit buckets in Redis so several gateway instances share them (e.g. `redis://127.0.0.1:6379`). */
  redis: v.optional(
    v.strictObject({
      url: v.pipe(v.string(), v.check((s) => /^rediss?:\/\//.test(s), 'must be a redis:// or rediss:// URL')),
      prefix: v.optional(v.string(), 'switchyard:ratelimit:'),
      timeoutMs: v.optional(PositiveInt, 250),
    }),
  ),
})
export type AuthConfig = v.InferOutput<typeof AuthConfig>

/** Corrections the gateway infers from behaviour (a retry with a stronger model, an auditor's escalation). */
export const FeedbackConfig = v.strictObject({
  /** Record implicit corrections; explicit feedback and forced classes are always recorded. */
  implicit: v.optional(v.boolean(), true),
  /** A retry of the same prompt by the same client within this window, with a higher tier, reads as too-weak. */
  retryWindowMs: v.optional(PositiveInt, 600_000),
})
export type FeedbackConfig = v.InferOutput<typeof FeedbackConfig>

const Bias = v.pipe(v.number(), v.minValue(-5), v.maxValue(5))

/** Retraining the classifier on recorded corrections. */
export const RetrainConfig = v.pipe(
  v.strictObject({
    /** Retrain in the background after this many new corrections; off when absent. */
    everyCorrections: v.optional(PositiveInt),
    /** Limits on the class bias a retrain may fit (added to class log-scores). */
    bias: v.optional(v.strictObject({ min: v.optional(Bias, -1), max: v.optional(Bias, 1) }), {}),
  }),
  v.check((r) => r.bias.min <= r.bias.max, 'bias.min must not exceed bias.max'),
)
export type RetrainConfig = v.InferOutput<typeof RetrainConfig>

export const ConfigFile = v.strictObject({
  /** What one GPU hour costs (any currency): turns GPU seconds saved into money (`switchyard_cost_saved_total`). */
  costPerGpuHour: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Where state is kept (decision history, classifier versions), relative to the config file; default: its directory. */
  stateDir: v.optional(Name),
  feedback: v.optional(FeedbackConfig, {}),
  retrain: v.optional(RetrainConfig, {}),
  server: v.optional(ServerConfig, {}),
  health: v.optional(HealthConfig, {}),
  auth: v.optional(AuthConfig, {}),
  backends: v.pipe(v.array(BackendConfig), v.minLength(1, 'at least one backend is required')),
  models: v.optional(v.record(Name, ModelConfig)),
  routes: v.optional(v.record(Name, RouteConfig)),
  plugins: v.optional(v.array(PluginEntry)),
})
export type ConfigInput = v.InferInput<typeof ConfigFile>
export type Config = v.InferOutput<typeof ConfigFile>
