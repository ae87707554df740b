/** The request shapes the bench sends: protocol x streaming x (named model | `auto`), each prompt unique. */

export const EXPLICIT_MODEL = 'qwen2.5-coder:1.5b'
/** Served only by the slow simulator: streams whose first token and end are far apart. */
export const TTFB_MODEL = 'ttfb-coder:1.5b'
/** A route whose every class is TTFB_MODEL: `auto` streams from the slow upstream (classified, then relayed). */
export const SLOW_ROUTE = 'auto-slow'
/** Served only by the slow simulator: streams that stay open a few seconds. */
export const HOLD_MODEL = 'hold-coder:14b'

export type Protocol = 'openai' | 'ollama'

export interface Scenario {
  /** `openai-chat`, `ollama-stream-auto`, ... */
  readonly name: string
  readonly protocol: Protocol
  readonly stream: boolean
  /** True when the gateway classifies and selects (`auto`); the bare proxy sends the named model instead. */
  readonly auto: boolean
}

const PATHS: Readonly<Record<Protocol, string>> = { openai: '/v1/chat/completions', ollama: '/api/chat' }

export function pathOf(protocol: Protocol): string {
  return PATHS[protocol]
}

export const SCENARIOS: readonly Scenario[] = (['openai', 'ollama'] as const).flatMap((protocol) =>
  [false, true].flatMap((stream) =>
    [false, true].map((auto) => ({ name: `${protocol}-${stream ? 'stream' : 'chat'}${auto ? '-auto' : ''}`, protocol, stream, auto })),
  ),
)

/** A realistic, mid-length coding prompt; the marker is replaced by a counter so every request is a cache miss. */
export const PROMPT = 'Write a Python function that parses an ISO-8601 date string and returns the weekday name; include a docstring and two unit tests. Request #N'
export const MARKER = '#N'

/**
 * The body as a template with MARKER where the counter goes. Temperature 0 makes the request cacheable,
 * so a gateway with a cache really looks up (and misses) and stores.
 */
export function bodyTemplate(protocol: Protocol, model: string, stream: boolean, extra: Record<string, unknown> = {}): string {
  const messages = [{ role: 'user', content: PROMPT }]
  const body = protocol === 'openai'
    ? { model, messages, stream, temperature: 0, ...extra }
    : { model, messages, stream, options: { temperature: 0 }, ...extra }
  return JSON.stringify(body)
}

export function modelFor(scenario: Scenario, target: { gateway: boolean }): string {
  return scenario.auto && target.gateway ? 'auto' : EXPLICIT_MODEL
}
