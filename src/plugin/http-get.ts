/** For probes: GET one backend endpoint under a deadline, timing it and turning every failure into a short reason. */
import { messageOf } from '../errors.ts'

export type HttpResult =
  | { readonly ok: true; readonly status: number; readonly text: string; readonly latencyMs: number }
  | { readonly ok: false; readonly status?: number; readonly text?: string; readonly error: string }

export async function httpGet(url: string, signal: AbortSignal, headers: Readonly<Record<string, string>> = {}): Promise<HttpResult> {
  const started = performance.now()
  try {
    const res = await fetch(url, { signal, headers: { accept: 'application/json', ...headers } })
    const text = await res.text()
    if (!res.ok) return { ok: false, status: res.status, text, error: `HTTP ${res.status}` }
    return { ok: true, status: res.status, text, latencyMs: Math.round((performance.now() - started) * 10) / 10 }
  } catch (err) {
    return { ok: false, error: describeFetchError(err, signal) }
  }
}

export function describeFetchError(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason
    return reason instanceof Error && reason.name === 'TimeoutError' ? 'timed out' : 'aborted'
  }
  const code = (err as { code?: unknown } | undefined)?.code
  if (code === 'ECONNREFUSED' || code === 'ConnectionRefused') return 'connection refused'
  return messageOf(err)
}

/** Parse a JSON body, `undefined` when it is not JSON (a proxy's HTML error page, say). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
