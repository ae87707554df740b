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

/** POST JSON to a backend (with its headers, e.g. its API key) and parse the JSON answer; non-2xx fails with the status. */
export async function postJson(target: BackendTarget, path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  const url = `${target.url}${path}`
  const res = await fetch(url, {
    method: 'POST', headers: { ...target.headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal,
  })
  if (!res.ok) throw new Error(`${url} answered ${res.status}`)
  return res.json()
}
