/** Where a plugin sends its own model calls (embeddings, a classifier LLM): a backend from the gateway config. */
import type { BackendKind, GatewayInfo } from './types.ts'

export interface BackendTarget {
  readonly kind: BackendKind
  /** Base url without a trailing slash. */
  readonly url: string
  /** The backend's configured headers (an API key), sent with every request. */
  readonly headers?: Readonly<Record<string, string>>
}

/** The configured backend named `backend`; throws a config-style message naming the plugin and the known backends. */
export function backendTarget(plugin: string, backend: string, gateway: GatewayInfo): BackendTarget {
  const b = gateway.backends.find((x) => x.name === backend)
  if (!b) {
    const known = gateway.backends.map((x) => x.name).join(', ') || 'none'
    throw new Error(`${plugin}: backend "${backend}" is not configured; known: ${known}`)
  }
  return { kind: b.kind, url: b.url.replace(/\/+$/, ''), headers: b.headers }
}
