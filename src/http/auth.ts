/** Client API keys (constant-time), allowed models, per-key token buckets, and the admin key. */
import { timingSafeEqual } from 'node:crypto'
import type { AuthConfig } from '../config/schema.ts'
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../errors.ts'

export interface ClientKey {
  readonly name: string
  readonly models?: readonly string[]
  /** Take one request from the key's bucket, or throw 429. */
  admit(): void
  /** Charge tokens used by a finished request. */
  charge(tokens: number): void
}

export interface Auth {
  /** Whether client keys are required on the model endpoints. */
  readonly required: boolean
  /** The key a request carries, checked; undefined when keys are not required. Throws 401. */
  client(req: Request): ClientKey | undefined
  /** Throws 401 unless the admin key is configured-and-given, or not configured at all. */
  admin(req: Request): void
  readonly hasAdminKey: boolean
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
    if (name === ADMIN_COOKIE) return decodeURIComponent(rest.join('='))
  }
  return undefined
}

/** A token bucket refilled continuously: `perMinute` capacity, refilled over a minute. */
function createBucket(perMinute: number, now: () => number) {
  let tokens = perMinute
  let at = now()
  const refill = () => {
    const t = now()
    tokens = Math.min(perMinute, tokens + ((t - at) / 60_000) * perMinute)
    at = t
  }
  return {
    take(n: number): number {
      refill()
      if (tokens >= n) {
        tokens -= n
        return 0
      }
      return ((n - tokens) / perMinute) * 60
    },
    charge(n: number) {
      refill()
      tokens -= n
    },
    waitS(): number {
      refill()
      return tokens >= 0 ? 0 : (-tokens / perMinute) * 60
    },
  }
}

export function createAuth(config: AuthConfig, env: Record<string, string | undefined> = process.env, now: () => number = Date.now): Auth {
  const keys = config.keys.map((k, i) => {
    const secret = k.key ?? env[k.keyEnv ?? ''] ?? ''
    if (!secret) throw new Error(`auth.keys[${i}].keyEnv: environment variable ${k.keyEnv} is empty or unset`)
    const requests = k.requestsPerMinute ? createBucket(k.requestsPerMinute, now) : undefined
    const tokens = k.tokensPerMinute ? createBucket(k.tokensPerMinute, now) : undefined
    const name = k.name ?? `key ${i + 1}`
    const client: ClientKey = {
      name,
      models: k.models,
      admit() {
        const tokenWait = tokens?.waitS() ?? 0
        if (tokenWait > 0) throw new RateLimitedError(`${name} is over its tokensPerMinute limit`, tokenWait)
        const wait = requests?.take(1) ?? 0
        if (wait > 0) throw new RateLimitedError(`${name} is over its requestsPerMinute limit`, wait)
      },
      charge: (n) => tokens?.charge(n),
    }
    return { digest: digest(secret), client }
  })
  const adminSecret = config.adminKey ?? (config.adminKeyEnv ? env[config.adminKeyEnv] : undefined)
  const adminDigest = adminSecret ? digest(adminSecret) : undefined
  return {
    required: keys.length > 0,
    hasAdminKey: adminDigest !== undefined,
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
    admin(req) {
      if (!adminDigest) return
      const given = presentedKey(req) ?? adminCookie(req)
      if (!given || !sameKey(digest(given), adminDigest)) throw new UnauthorizedError('this endpoint needs the admin key: send Authorization: Bearer <admin key>')
    },
  }
}

/** A key limited to some models may use only those (checked against the name the client asked for). */
export function checkModelAllowed(key: ClientKey | undefined, model: string): void {
  if (key?.models && !key.models.includes(model)) {
    throw new ForbiddenError(`${key.name} may not use model "${model}"; allowed: ${key.models.join(', ')}`)
  }
}
