/**
 * Token counts of an answer: read from what the upstream reported (string searches over the end of the answer, no
 * JSON parsing on the common path), else estimated from the text the gateway relayed, and marked as estimated.
 *
 * The estimate, measured on the simulator's output (227,000 tokens over its four models): its text averages 5.6
 * characters per token, so the usual "4 characters per token" counts its streams 40% high; one token per streamed
 * frame is exact, as it is for Ollama, llama.cpp and vLLM, which flush one token per frame. So a frame that carries
 * generated text counts as one token, unless its text is longer than any single token (more than 24 characters: an
 * upstream that batches tokens), which counts one token per 4 characters. A whole (non-streamed) answer and a
 * prompt count one token per 4 characters. See docs/tokens.md.
 */
import { CHARS_PER_TOKEN, estimatePromptTokens } from '../plugin/text.ts'
import type { ChatRequest } from '../plugin/types.ts'

/** Longer than any one token of a real tokenizer's English or code vocabulary: such a frame holds several. */
const ONE_TOKEN_MAX_CHARS = 24

export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  /** At least one of the two counts is the gateway's estimate (the upstream reported none, or the stream was cut). */
  readonly tokensEstimated: boolean
  /** The last finish reason the upstream reported (`stop`, `length`, ...). */
  readonly finishReason?: string
  /** The backend's own timings (Ollama's `prompt_eval_duration` and `eval_duration`), in seconds, when it reported them. */
  readonly promptSeconds?: number
  readonly evalSeconds?: number
}

const COUNT_VALUE = /^\s*:\s*(\d+)/
const REASON_VALUE = /^\s*:\s*"([a-z_]{1,32})"/

/** The number after the last `"key":` in `tail`, if any (a negative or non-numeric figure reads as missing). */
function lastCount(tail: string, key: string): number | undefined {
  const at = tail.lastIndexOf(key)
  if (at === -1) return undefined
  const m = COUNT_VALUE.exec(tail.slice(at + key.length, at + key.length + 32))
  return m ? Number(m[1]) : undefined
}

/** The last string value of `key` (`"finish_reason"`, `"done_reason"`), skipping `null`s after it. */
function lastReason(tail: string, key: string): string | undefined {
  for (let at = tail.lastIndexOf(key); at !== -1; at = at === 0 ? -1 : tail.lastIndexOf(key, at - 1)) {
    const m = REASON_VALUE.exec(tail.slice(at + key.length, at + key.length + 48))
    if (m) return m[1]
  }
  return undefined
}

/** Which wire format an upstream answers in: where its counts and finish reason are. */
export type UsageShape = 'openai' | 'ollama'

/**
 * Token counts and finish reason from the final frames of a stream (Ollama's done line or OpenAI's usage chunk),
 * or from a whole answer's end. String searches first: no regular expression runs over the whole tail. A key inside
 * a JSON string value is escaped (`\"eval_count\"`), so generated text cannot fake a count. With `shape` only that
 * format's keys are looked for: a key that is absent costs a search through the whole tail.
 */
export function usageFromTail(tail: string, shape?: UsageShape): Omit<Partial<Usage>, 'tokensEstimated'> {
  if (shape === 'openai') {
    return { inputTokens: lastCount(tail, '"prompt_tokens"'), outputTokens: lastCount(tail, '"completion_tokens"'), finishReason: lastReason(tail, '"finish_reason"') }
  }
  if (shape === 'ollama') {
    return { inputTokens: lastCount(tail, '"prompt_eval_count"'), outputTokens: lastCount(tail, '"eval_count"'), finishReason: lastReason(tail, '"done_reason"'), ...timings(tail) }
  }
  return {
    inputTokens: lastCount(tail, '"prompt_eval_count"') ?? lastCount(tail, '"prompt_tokens"'),
    outputTokens: lastCount(tail, '"eval_count"') ?? lastCount(tail, '"completion_tokens"'),
    finishReason: lastReason(tail, '"finish_reason"') ?? lastReason(tail, '"done_reason"'),
    ...timings(tail),
  }
}

/** Ollama's prompt and generation times (nanoseconds on the wire), in seconds; none when it reported no generation time. */
function timings(tail: string): { promptSeconds?: number; evalSeconds?: number } {
  const evalNs = lastCount(tail, '"eval_duration"')
  if (evalNs === undefined) return {}
  return { promptSeconds: (lastCount(tail, '"prompt_eval_duration"') ?? 0) / 1e9, evalSeconds: evalNs / 1e9 }
}

export const tokensOfChars = (chars: number): number => Math.ceil(chars / CHARS_PER_TOKEN)

/** The prompt's tokens, estimated: one per 4 characters of its messages (0 for no text). */

/** The client's cap on output tokens, when it set a usable one (Ollama's `-1`/`-2` mean no cap). */
export function maxOutputTokens(request: Pick<ChatRequest, 'maxTokens'>): number | undefined {
  const max = request.maxTokens
  return max !== undefined && Number.isFinite(max) && max >= 0 ? Math.floor(max) : undefined
}

/** The request field that set `maxTokens`, named as the client wrote it (for error messages). */
export function maxTokensField(request: Pick<ChatRequest, 'protocol' | 'body'>): string {
  if (request.protocol === 'ollama') return 'options.num_predict'
  return request.body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens'
}

/** The key whose string value is a frame's generated text, by the upstream path's framing. */
function textKey(request: Pick<ChatRequest, 'protocol' | 'operation' | 'body'>, upstreamIsOpenAI: boolean): string {
  if (!upstreamIsOpenAI) return request.operation === 'generate' ? '"response":' : '"content":'
  // OpenAI legacy completions stream `text`; Ollama generate requests in raw mode are translated to them.
  const completion = request.operation === 'completion' || (request.operation === 'generate' && request.body.raw === true)
  return completion ? '"text":' : '"content":'
}

/** Reasoning text counts as output too (Ollama's eval_count and OpenAI's completion_tokens include it). */
const REASONING_KEYS = ['"thinking":', '"reasoning":', '"reasoning_content":'] as const

/** The length of the JSON string value at `i` in `text` (after a key's colon; escapes count as written), or 0 when it is none. */
function stringLengthAt(text: string, i: number): number {
  while (text.charCodeAt(i) === 32) i++
  if (text.charCodeAt(i) !== 34) return 0
  const start = i + 1
  for (let from = start; ; ) {
    const quote = text.indexOf('"', from)
    if (quote === -1) return text.length - start
    let backslashes = 0
    while (text.charCodeAt(quote - 1 - backslashes) === 92) backslashes++
    if (backslashes % 2 === 0) return quote - start
    from = quote + 1
  }
}

/** The length of the string value of `key` in `line`, or 0 when there is none. */
function stringLength(line: string, key: string): number {
  const at = line.indexOf(key)
  return at === -1 ? 0 : stringLengthAt(line, at + key.length)
}

const frameTokens = (chars: number) => (chars <= ONE_TOKEN_MAX_CHARS ? 1 : tokensOfChars(chars))

export interface OutputMeter {
  /** Feed the upstream's text as it arrives (NDJSON lines or SSE `data:` lines; frames may be split anywhere). */
  push(text: string): void
  /** Output tokens of the frames seen so far, by the rule at the top of this file. */
  tokens(): number
}

/** A frame longer than this is not a model's token frame (a runaway line): it stops being buffered. */
const MAX_PARTIAL_CHARS = 1 << 20

/**
 * Counts a stream's output as it passes, with string searches only (linear in the text): per chunk, a search for
 * the text key and one from the end for a partial frame; a frame with empty text, or a chunk without the key, is
 * searched for reasoning text and tool calls too. The upstream's own count wins when it reports one; this is what
 * a stream without usage, or cut before its end, is charged.
 */
export function createOutputMeter(request: Pick<ChatRequest, 'protocol' | 'operation' | 'body'>, upstreamIsOpenAI: boolean): OutputMeter {
  const key = textKey(request, upstreamIsOpenAI)
  let partial = ''
  let tokens = 0
  /** Reasoning text (`thinking`, `reasoning`, `reasoning_content`) and tool calls in `text`: frames without the usual text. */
  const otherText = (text: string) => {
    for (const k of REASONING_KEYS) {
      for (let at = text.indexOf(k); at !== -1; at = text.indexOf(k, at + k.length)) {
        const chars = stringLengthAt(text, at + k.length)
        if (chars > 0) tokens += frameTokens(chars)
      }
    }
    for (let at = text.indexOf('"tool_calls"'); at !== -1; at = text.indexOf('"tool_calls"', at + 12)) tokens += 1
  }
  return {
    push(text) {
      const buffer = partial ? partial + text : text
      // Whole frames end at the last newline; what follows waits for the next chunk.
      const end = buffer.lastIndexOf('\n')
      if (end === -1) {
        partial = buffer.length < MAX_PARTIAL_CHARS ? buffer : ''
        return
      }
      partial = end + 1 < buffer.length ? buffer.slice(end + 1) : ''
      // A frame whose text is empty may carry reasoning or tool calls instead: that frame (that line) is searched
      // for them. A chunk without the key at all (a reasoning or tool-call phase) is searched whole.
      let plain = false
      for (let at = buffer.indexOf(key); at !== -1 && at < end; at = buffer.indexOf(key, at + key.length)) {
        plain = true
        const chars = stringLengthAt(buffer, at + key.length)
        if (chars > 0) tokens += frameTokens(chars)
        else otherText(buffer.slice(buffer.lastIndexOf('\n', at) + 1, buffer.indexOf('\n', at)))
      }
      if (!plain) otherText(buffer.slice(0, end))
    },
    tokens() {
      // A last frame without its newline (a cut stream) still went to the client.
      return partial.length > 16 && stringLength(partial, key) > 0 ? tokens + 1 : tokens
    },
  }
}

/** The last few thousand characters of a stream, kept as its chunks: joined only when the stream ends. */
export function createTail(chars: number) {
  const chunks: string[] = []
  let length = 0
  return {
    push(text: string): void {
      chunks.push(text)
      length += text.length
      while (chunks.length > 1 && length - chunks[0]!.length >= chars) length -= chunks.shift()!.length
    },
    text: (): string => {
      const text = chunks.length === 1 ? chunks[0]! : chunks.join('')
      return text.length > chars ? text.slice(-chars) : text
    },
  }
}

/** The generated text of a whole (non-streamed) answer in either protocol's shape, for an estimate. */
function answerText(json: Record<string, unknown>): string {
  const choice = (json.choices as Record<string, unknown>[] | undefined)?.[0]
  const message = (choice?.message ?? json.message) as Record<string, unknown> | undefined
  const parts = [message?.content, message?.reasoning, message?.reasoning_content, message?.thinking, choice?.text, json.response, json.thinking]
  let text = ''
  for (const p of parts) if (typeof p === 'string') text += p
  const calls = message?.tool_calls
  return calls ? text + JSON.stringify(calls) : text
}

/**
 * The usage of a whole answer (`text`, as the upstream sent it): its reported counts, else (the rare path) its JSON
 * parsed for a usage block placed early, else estimates from the prompt and the answer's text.
 */
export function answerUsage(request: ChatRequest, text: string, shape?: UsageShape): Usage {
  const reported = usageFromTail(text.length > 2000 ? text.slice(-2000) : text, shape)
  const embed = request.operation === 'embed'
  if (reported.inputTokens !== undefined && (embed || reported.outputTokens !== undefined)) {
    return { inputTokens: reported.inputTokens, outputTokens: embed ? 0 : reported.outputTokens!, tokensEstimated: false, finishReason: reported.finishReason, promptSeconds: reported.promptSeconds, evalSeconds: reported.evalSeconds }
  }
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  const early = json?.usage ? usageFromTail(JSON.stringify(json.usage)) : {}
  const inputTokens = reported.inputTokens ?? early.inputTokens
  const outputTokens = embed ? 0 : (reported.outputTokens ?? early.outputTokens)
  return {
    inputTokens: inputTokens ?? estimatePromptTokens(request),
    outputTokens: outputTokens ?? (json ? tokensOfChars(answerText(json).length) : 0),
    tokensEstimated: inputTokens === undefined || outputTokens === undefined,
    finishReason: reported.finishReason,
    promptSeconds: reported.promptSeconds,
    evalSeconds: reported.evalSeconds,
  }
}

/** The usage of a relayed stream: what the upstream reported at its end (`tail`), else the meter's and the prompt's estimates. */
export function streamUsage(request: ChatRequest, tail: string, meter: Pick<OutputMeter, 'tokens'>, shape?: UsageShape): Usage {
  const reported = usageFromTail(tail, shape)
  const embed = request.operation === 'embed'
  const outputTokens = embed ? 0 : reported.outputTokens
  return {
    inputTokens: reported.inputTokens ?? estimatePromptTokens(request),
    outputTokens: outputTokens ?? meter.tokens(),
    tokensEstimated: reported.inputTokens === undefined || outputTokens === undefined,
    finishReason: reported.finishReason,
    promptSeconds: reported.promptSeconds,
    evalSeconds: reported.evalSeconds,
  }
}
