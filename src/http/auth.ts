/** Client API keys (constant-time), allowed models, per-key token buckets, and the admin key. */
import { timingSafeEqual } from 'node:crypto'
import type { AuthConfig } from '../config/schema.ts'
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../errors.ts'
import { type BucketStore, createLocalBuckets } from './rate-limit.ts'

export interface ClientKey {
  readonly name: string
  readonly models?: readonly string[]
  /** Take one request from the key's bucket, or throw 429. */
  admit(): Promise<void>
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
  /** Whether an admin key is configured (so `admin()` can refuse). */
  readonly adminRequired: boolean
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
  const keys = config.keys.map((k, i) => {
    const secret = k.key ?? env[k.keyEnv ?? ''] ?? ''
    if (!secret) throw new Error(`auth.keys[${i}].keyEnv: environment variable ${k.keyEnv} is empty or unset`)
    const name = k.name ?? `key ${i + 1}`
    // Buckets are named by a digest of the key, so Redis never holds a key itself.
    const keyDigest = digest(secret)
    const id = keyDigest.toString('hex').slice(0, 16)
    const requests = k.requestsPerMinute ? buckets.bucket(`${id}:requests`, k.requestsPerMinute) : undefined
    const tokens = k.tokensPerMinute ? buckets.bucket(`${id}:tokens`, k.tokensPerMinute) : undefined
    const client: ClientKey = {
      name,
      models: k.models,
      async admit() {
        const tokenWait = (await tokens?.debt()) ?? 0
        if (tokenWait > 0) throw new RateLimitedError(`${name} is over its tokensPerMinute limit`, tokenWait)
        const wait = (await requests?.take(1)) ?? 0
        if (wait > 0) throw new RateLimitedError(`${name} is over its requestsPerMinute limit`, wait)
      },
      charge: (n) => void tokens?.charge(n),
    }
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
