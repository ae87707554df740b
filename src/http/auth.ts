/** Client API keys (constant-time), allowed models, per-key request and token budgets, and the admin key. */
import { timingSafeEqual } from 'node:crypto'
import type { ApiKeyConfig, AuthConfig, TeamConfig } from '../config/schema.ts'
import { RateLimitedError, UnauthorizedError } from '../errors.ts'
import { maxOutputTokens, maxTokensField } from '../pipeline/usage.ts'
import { estimatePromptTokens } from '../plugin/text.ts'
import type { ChatRequest, StateBackend } from '../plugin/types.ts'
import { type BucketStore, type DayCounter, type KeyBuckets, createLocalBuckets, secondsToNextDay } from './rate-limit.ts'

/** A team as requests see it: its config (allow-list, route overrides, bias) and its shared budgets. */
export interface Team {
  readonly name: string
  readonly config: TeamConfig
}

export interface ClientKey {
  readonly name: string
  readonly models?: readonly string[]
  /** The key's team, when it is in one. */
  readonly team?: Team
  /**
   * Admit one request, or throw 429: take one from `requestsPerMinute` and reserve the request's tokens against
   * `tokensPerMinute` (see `reservationOf`). The answer is the key as this request holds it: its `settle` turns
   * the reservation into the real count.
   */
  admit(request: ChatRequest): Promise<ClientKey>
  /**
   * The tokens the request really used, once it has ended (0 when nothing was generated upstream: a cache hit, a
   * shared answer, an error): refunds or charges the difference to its reservation; `gpuSeconds` is charged to the
   * team's daily GPU budget. The first call counts.
   */
  settle(tokens: number, gpuSeconds?: number): void
}

/** Output tokens reserved for a request that sets no cap of its own and a key with no `reserveTokens`. */
export const DEFAULT_RESERVE_TOKENS = 512

/**
 * What a request reserves: its prompt (estimated, 4 characters per token) plus its output cap (`max_tokens`,
 * `max_completion_tokens`, `options.num_predict`), else the key's `reserveTokens`, else the default (at most the
 * key's whole budget); embeddings reserve no output.
 */
export function reservationOf(request: ChatRequest, key: Pick<ApiKeyConfig, 'reserveTokens' | 'tokensPerMinute'>): number {
  const output = request.operation === 'embed' ? 0 : (maxOutputTokens(request) ?? key.reserveTokens ?? Math.min(DEFAULT_RESERVE_TOKENS, key.tokensPerMinute ?? DEFAULT_RESERVE_TOKENS))
  return estimatePromptTokens(request) + output
}

function refusalMessage(name: string, refused: 'requestsPerMinute' | 'tokensPerMinute', limit: number): string {
  return refused === 'requestsPerMinute'
    ? `${name} is over its requestsPerMinute limit (${limit})`
    : `${name} is over its tokensPerMinute limit (${limit}): the tokens of the last minute and of its requests still running use it up`
}

/** The key's admission: a shared object for keys without a token budget, one per request (its reservation) with one. */
function createAdmission(name: string, config: Pick<ApiKeyConfig, 'tokensPerMinute' | 'reserveTokens' | 'requestsPerMinute' | 'models'>, buckets: KeyBuckets | undefined, base: () => ClientKey, team?: Team): (request: ChatRequest) => Promise<ClientKey> {
  const budget = config.tokensPerMinute
  return async (request) => {
    const max = maxOutputTokens(request)
    if (budget !== undefined && max !== undefined && max > budget) {
      // Never admissible, however long the client waits: say so now rather than reserve a budget it cannot fit.
      throw new RateLimitedError(`${name}: ${maxTokensField(request)} ${max} is more than its whole tokensPerMinute budget (${budget}); ask for at most ${budget}`, 60)
    }
    if (!buckets) return base()
    const reserved = budget === undefined ? 0 : reservationOf(request, config)
    const answer = await buckets.admit(reserved)
    if (answer.refused) {
      throw new RateLimitedError(refusalMessage(name, answer.refused, (answer.refused === 'requestsPerMinute' ? config.requestsPerMinute : budget) ?? 0), answer.retryAfterS)
    }
    if (budget === undefined) return base()
    let settled = false
    return {
      name, models: config.models, team, admit: base().admit,
      settle(tokens) {
        if (settled) return
        settled = true
        void answer.adjust(tokens - reserved)
      },
    }
  }
}

/** A team's shared budgets: requests and tokens per minute (like a key's), GPU seconds per UTC day. */
interface TeamAdmission {
  readonly team: Team
  readonly limited: boolean
  readonly admit: (request: ChatRequest) => Promise<ClientKey>
  readonly gpu?: DayCounter
}

function createTeamAdmission(config: TeamConfig, buckets: BucketStore): TeamAdmission {
  const team: Team = { name: config.name, config }
  const id = `team-${digest(config.name).toString('hex').slice(0, 16)}`
  const perMinute = config.requestsPerMinute !== undefined || config.tokensPerMinute !== undefined
  const limits = perMinute ? buckets.forKey(id, { requestsPerMinute: config.requestsPerMinute, tokensPerMinute: config.tokensPerMinute }) : undefined
  const self: ClientKey = { name: `team ${config.name}`, models: config.models, team, admit: async () => self, settle() {} }
  const admit = createAdmission(`team ${config.name}`, config, limits, () => self, team)
  const gpu = config.gpuSecondsPerDay !== undefined ? buckets.daily(`${id}:gpu`) : undefined
  return { team, limited: perMinute || gpu !== undefined, admit, gpu }
}

/** The key admitted by itself and then by its team (a team refusal refunds the key's reservation); settling settles both. */
function withTeam(own: ClientKey, team: TeamAdmission): ClientKey {
  const budget = team.team.config.gpuSecondsPerDay
  const client: ClientKey = {
    ...own,
    async admit(request) {
      if (team.gpu && budget !== undefined) {
        const spent = await team.gpu.spent()
        if (spent >= budget) throw new RateLimitedError(`team ${team.team.name} has used its gpuSecondsPerDay budget (${budget}; ${spent.toFixed(1)} spent today, UTC)`, secondsToNextDay(Date.now()))
      }
      const key = await own.admit(request)
      let held: ClientKey
      try {
        held = await team.admit(request)
      } catch (error) {
        key.settle(0)
        throw error
      }
      let settled = false
      return {
        ...key,
        admit: client.admit,
        settle(tokens, gpuSeconds) {
          if (settled) return
          settled = true
          key.settle(tokens)
          held.settle(tokens)
          if (gpuSeconds && team.gpu) void team.gpu.add(gpuSeconds)
        },
      }
    },
  }
  return client
}

export interface Auth {
  /** Whether client keys are required on the model endpoints. */
  readonly required: boolean
  /** The key a request carries, checked; undefined when keys are not required. Throws 401. */
  client(req: Request): ClientKey | undefined
  /** Throws 401 unless the admin key is configured-and-given, or not configured at all. */
  admin(req: Request): void
  /** Whether an admin key is configured (so `admin()` can refuse). */
  readonly adminRequired: boolean
  /** Limits kept in Redis: whether they are shared now (none when limits are per instance by config). */
  stateBackend?(): StateBackend
  close(): void
}

const digest = (s: string) => new Bun.CryptoHasher('sha256').update(s).digest()

/** Compare digests so neither length nor content leaks through timing. */
function sameKey(given: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(given, expected)
}

/** Authorization: Bearer, or x-api-key (some Ollama and OpenAI-compatible clients send that). */
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.get('authorization')
  if (auth) {
    const m = auth.match(/^Bearer\s+(.+)$/i)
    return m?.[1]?.trim()
  }
  return req.headers.get('x-api-key') ?? undefined
}

/** The dashboard keeps the admin key in a same-site cookie, since a browser's EventSource cannot send headers. */
export const ADMIN_COOKIE = 'switchyard_admin'

function adminCookie(req: Request): string | undefined {
  const cookie = req.headers.get('cookie')
  if (!cookie) return undefined
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name !== ADMIN_COOKIE) continue
    try {
      return decodeURIComponent(rest.join('='))
    } catch {
      // A malformed value (a stray '%') is no key: the request gets a 401, not a 500.
      return undefined
    }
  }
  return undefined
}

/** The admin key the config sets, literally or through `adminKeyEnv`. */
export function adminKeyOf(config: AuthConfig, env: Record<string, string | undefined> = process.env): string | undefined {
  return config.adminKey ?? (config.adminKeyEnv ? env[config.adminKeyEnv] : undefined)
}

export function createAuth(config: AuthConfig, options: { env?: Record<string, string | undefined>; buckets?: BucketStore } = {}): Auth {
  const env = options.env ?? process.env
  const buckets = options.buckets ?? createLocalBuckets()
  const teams = new Map(config.teams.map((t) => [t.name, createTeamAdmission(t, buckets)]))
  const teamOf = (k: ApiKeyConfig, i: number) => {
    const name = k.name ?? `key ${i + 1}`
    return teams.get(k.team ?? config.teams.find((t) => t.keys.includes(name))?.name ?? '')
  }
  const keys = config.keys.map((k, i) => {
    const secret = k.key ?? env[k.keyEnv ?? ''] ?? ''
    if (!secret) throw new Error(`auth.keys[${i}].keyEnv: environment variable ${k.keyEnv} is empty or unset`)
    const name = k.name ?? `key ${i + 1}`
    // Buckets are named by a digest of the key, so Redis never holds a key itself.
    const keyDigest = digest(secret)
    const id = keyDigest.toString('hex').slice(0, 16)
    const limited = k.requestsPerMinute !== undefined || k.tokensPerMinute !== undefined
    const limits = limited ? buckets.forKey(id, { requestsPerMinute: k.requestsPerMinute, tokensPerMinute: k.tokensPerMinute }) : undefined
    const team = teamOf(k, i)
    const own: ClientKey = { name, models: k.models, team: team?.team, admit: createAdmission(name, k, limits, () => own, team?.team), settle() {} }
    // The team's limits apply as well as the key's own: both admit, both settle.
    const client: ClientKey = team?.limited ? withTeam(own, team) : own
    return { digest: keyDigest, client }
  })
  const adminSecret = adminKeyOf(config, env)
  const adminDigest = adminSecret ? digest(adminSecret) : undefined
  return {
    required: keys.length > 0,
    adminRequired: adminDigest !== undefined,
    client(req) {
      if (keys.length === 0) return undefined
      const given = presentedKey(req)
      if (!given) throw new UnauthorizedError('an API key is required: send Authorization: Bearer <key>')
      const d = digest(given)
      // Check every key so the time taken does not depend on which one matched.
      let found: ClientKey | undefined
      for (const k of keys) if (sameKey(d, k.digest)) found = k.client
      if (!found) throw new UnauthorizedError('invalid API key')
      return found
    },
    close: () => buckets.close(),
    stateBackend: buckets.stateBackend ? () => buckets.stateBackend!() : undefined,
    admin(req) {
      if (!adminDigest) return
      const given = presentedKey(req) ?? adminCookie(req)
      if (!given || !sameKey(digest(given), adminDigest)) throw new UnauthorizedError('this endpoint needs the admin key: send Authorization: Bearer <admin key>')
    },
  }
}

