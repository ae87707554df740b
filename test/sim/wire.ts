/** Test helpers for the simulator: read NDJSON and SSE bodies, post JSON, poll until a condition holds. */
import { expect } from 'bun:test'

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await Bun.sleep(5)
  }
}

export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** Parsed wire JSON: tests assert on its shape, so it stays loosely typed. */
export type Json = any

export async function readNdjson(response: Response): Promise<Json[]> {
  const text = await response.text()
  expect(text.endsWith('\n')).toBe(true)
  return text.trimEnd().split('\n').map((line) => JSON.parse(line))
}

/** Returns the `data:` payloads in order; `[DONE]` stays a string. */
export async function readSse(response: Response): Promise<(Json | '[DONE]')[]> {
  const text = await response.text()
  expect(text.endsWith('\n\n')).toBe(true)
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true)
      const data = event.slice('data: '.length)
      return data === '[DONE]' ? data : JSON.parse(data)
    })
}
