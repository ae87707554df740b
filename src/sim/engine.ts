/** The protocol-neutral life of one generation: load the model, evaluate the prompt, pace the tokens, report stats. */
import { countTokens, generateCompletion, type Completion } from './generate.ts'
import type { AnswerMemory } from './judge.ts'
import { createModelLatency, type Clock } from './latency.ts'
import type { ModelCatalog, ModelRuntime, ModelSpec } from './models.ts'
import { createQualityCompletion } from './quality-run.ts'
import type { RequestScope } from './stats.ts'

/** What every handler shares: built once per simulator by `startSimulator`. */
export interface SimContext {
  readonly catalog: ModelCatalog
  readonly runtime: ModelRuntime
  readonly clock: Clock
  readonly outputTokens: number
  /** Set in quality mode: the answers given so far, as the simulated judge knows them. */
  readonly answers: AnswerMemory | undefined
  nextId(): number
}

/** Ollama's final-chunk statistics, in nanoseconds of simulated model time. */
export interface RunStats {
  total_duration: number
  load_duration: number
  prompt_eval_count: number
  prompt_eval_duration: number
  eval_count: number
  eval_duration: number
}

export interface Run extends Completion {
  readonly promptTokens: number
  readonly createdAt: Date
  /** Extra response headers (quality mode's verdict). */
  readonly headers: Readonly<Record<string, string>>
  /** Yields each piece after its simulated delay; stops early if the caller leaves. */
  tokens(): AsyncGenerator<string>
  /** Ends the request (scope finished) and returns its statistics. */
  complete(): RunStats
}

/** A warm model still spends a little on "loading" in Ollama's reports; zero would read as missing. */
const WARM_LOAD_MS = 1.5

/** Milliseconds as Ollama's nanosecond durations (at least 1: zero would read as missing). */
export const toNs = (ms: number) => Math.max(1, Math.round(ms * 1e6))

/**
 * Acquires the model for the request (released with `keepAliveMs` when the scope ends) and waits
 * out the cold start. Returns the nominal load time in milliseconds.
 */
export async function loadModel(ctx: SimContext, scope: RequestScope, spec: ModelSpec, keepAliveMs: number | undefined): Promise<number> {
  const { loadMs } = createModelLatency(spec)
  const { loading, ready } = ctx.runtime.acquire(spec, (signal) => ctx.clock.wait(loadMs, signal))
  scope.defer(() => ctx.runtime.release(spec, keepAliveMs))
  if (!loading) return WARM_LOAD_MS
  await untilAborted(ready, scope.signal)
  return loadMs
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

export interface RunInput {
  readonly spec: ModelSpec
  readonly prompt: string
  /** num_predict / max_tokens; undefined or negative means no limit. */
  readonly limit: number | undefined
  readonly keepAliveMs: number | undefined
  /** Structured output was asked for (Ollama `format`, OpenAI `response_format`). */
  readonly json?: boolean
  /** The last user message, where quality mode looks for a rubric prompt; the whole prompt when unset. */
  readonly ask?: string
}

function createCompletion(ctx: SimContext, input: RunInput): Completion & { readonly headers: Readonly<Record<string, string>> } {
  const json = input.json === true
  if (ctx.answers) {
    return createQualityCompletion(ctx.answers, input.spec, { prompt: input.prompt, ask: input.ask ?? input.prompt, limit: input.limit, json })
  }
  return { ...generateCompletion(input.spec.name, input.prompt, input.limit, ctx.outputTokens, json), headers: {} }
}

/** Loads the model and evaluates the prompt; when it resolves the first token is ready. */
export async function startRun(ctx: SimContext, scope: RequestScope, input: RunInput): Promise<Run> {
  const { spec, prompt } = input
  const createdAt = new Date()
  const latency = createModelLatency(spec)
  const loadMs = await loadModel(ctx, scope, spec, input.keepAliveMs)
  const promptTokens = Math.max(1, countTokens(prompt))
  const promptMs = latency.promptMs(promptTokens)
  await ctx.clock.wait(promptMs, scope.signal)
  const completion = createCompletion(ctx, input)
  const stats = (): RunStats => {
    const evalMs = latency.perTokenMs * completion.pieces.length
    return {
      total_duration: toNs(loadMs + promptMs + evalMs),
      load_duration: toNs(loadMs),
      prompt_eval_count: promptTokens,
      prompt_eval_duration: toNs(promptMs),
      eval_count: completion.pieces.length,
      eval_duration: toNs(evalMs),
    }
  }
  return {
    ...completion,
    promptTokens,
    createdAt,
    async *tokens() {
      for (const [index, piece] of completion.pieces.entries()) {
        // The first token arrives with the prompt evaluation; each later one costs one step.
        if (index > 0) await ctx.clock.wait(latency.perTokenMs, scope.signal)
        yield piece
      }
    },
    complete() {
      scope.finish()
      return stats()
    },
  }
}

/** Runs to the end without streaming: the full text and the stats. */
export async function collectRun(run: Run): Promise<{ text: string; stats: RunStats }> {
  let text = ''
  for await (const piece of run.tokens()) text += piece
  return { text, stats: run.complete() }
}

/** Flattens OpenAI-style content (string or parts) to its text. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part: unknown) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .filter(Boolean)
    .join('\n')
}

/** The text a chat's messages amount to, for seeding output and counting prompt tokens. */
export function chatPrompt(messages: readonly { content?: unknown }[]): string {
  return messages.map((m) => contentText(m.content)).join('\n')
}

/** The text of the last user message ('' when there is none). */
export function lastUserText(messages: readonly { role: string; content?: unknown }[]): string {
  return contentText(messages.findLast((m) => m.role === 'user')?.content)
}

/** A route that produces model output; `body` is parsed JSON, not yet validated. */
export type GenerationHandler = (ctx: SimContext, body: unknown, scope: RequestScope) => Promise<Response>
