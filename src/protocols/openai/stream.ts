/** Server-sent events: an incremental parser for upstream streams, and the frames we write. */

export interface SseEvent {
  readonly event?: string
  readonly data: string
}

/** Feed text as it arrives; complete events come back. Handles \n, \r\n, \r, comments and multi-line data. */
export function createSseParser() {
  let buffer = ''
  let data: string[] = []
  let event: string | undefined
  return {
    push(text: string): SseEvent[] {
      buffer += text
      const out: SseEvent[] = []
      let start = 0
      for (let i = 0; i < buffer.length; i++) {
        const ch = buffer.charCodeAt(i)
        if (ch !== 10 && ch !== 13) continue
        // A lone \r at the very end may be half of \r\n: wait for more.
        if (ch === 13 && i === buffer.length - 1) break
        const line = buffer.slice(start, i)
        if (ch === 13 && buffer.charCodeAt(i + 1) === 10) i++
        start = i + 1
        if (line === '') {
          if (data.length > 0) out.push(event ? { event, data: data.join('\n') } : { data: data.join('\n') })
          data = []
          event = undefined
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        let value = colon === -1 ? '' : line.slice(colon + 1)
        if (value.startsWith(' ')) value = value.slice(1)
        if (field === 'data') data.push(value)
        else if (field === 'event') event = value
        // llama.cpp reports stream errors as a non-standard `error:` field.
        else if (field === 'error') out.push({ event: 'error', data: value })
      }
      buffer = buffer.slice(start)
      return out
    },
  }
}

export const sseData = (json: unknown) => `data: ${JSON.stringify(json)}\n\n`

/** The final frame when a stream fails after its first byte. */
export function sseError(message: string, code = 'upstream_error'): string {
  return sseData({ error: { message, type: 'api_error', param: null, code } })
}

const USAGE_OBJECT = /"usage"\s*:\s*\{/
const EMPTY_CHOICES = /"choices"\s*:\s*\[\s*\]/
/** `"usage":null` with the comma that joins it to its neighbour (before it, or after it when it comes first). */
const USAGE_NULL = /,\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,/g

/** One event without its usage: undefined for the usage-only chunk, else the event with `usage` removed. */
function eventWithoutUsage(block: string): string | undefined {
  if (!USAGE_OBJECT.test(block)) return block.replace(USAGE_NULL, '')
  // `"choices"` outside a string value is the chunk's own field: a usage-only chunk goes whole.
  if (EMPTY_CHOICES.test(block)) return undefined
  // Usage on a chunk that also has choices (rare): parsed, to take just that field off.
  const data = /^data: ?(.*)$/m.exec(block)
  let json: Record<string, unknown>
  try {
    json = JSON.parse(data?.[1] ?? '') as Record<string, unknown>
  } catch {
    return block
  }
  delete json.usage
  return block.replace(/^data: ?.*$/m, () => `data: ${JSON.stringify(json)}`)
}

/** One event dropped whole from a chunk's own text, nothing else changed: its bytes can be cut out of the chunk's bytes. */
export interface UsageCut {
  readonly start: number
  readonly next: number
  /** The blank line that ends the stream's events. */
  readonly blank: string
}

/**
 * `text` (whole events, ending with `blank`) without usage, given where `"usage"` last occurs. Events that mention
 * it are looked at from the end backwards (the usage chunk is last, so the search back from the end is short); the
 * rest is copied.
 */
function withoutUsage(text: string, blank: string, last: number): { out: string; cut?: UsageCut } {
  const parts: string[] = []
  let to = text.length
  let cut: UsageCut | undefined
  let changes = 0
  for (let at = last; at !== -1; ) {
    const before = text.lastIndexOf(blank, at)
    const start = before === -1 ? 0 : before + blank.length
    const found = text.indexOf(blank, at)
    const end = found === -1 ? text.length : found
    const next = Math.min(to, found === -1 ? text.length : found + blank.length)
    // Collected back to front, reversed at the end.
    parts.push(text.slice(next, to))
    const kept = eventWithoutUsage(text.slice(start, end))
    if (kept === undefined) cut = { start, next, blank }
    else parts.push(text.slice(end, next), kept)
    changes++
    to = start
    at = start > 0 ? text.lastIndexOf('"usage"', start - 1) : -1
  }
  if (changes === 1 && cut) return { out: text.slice(0, cut.start) + text.slice(cut.next), cut }
  parts.push(text.slice(0, to))
  return { out: parts.reverse().join('') }
}

/**
 * Takes out of an upstream SSE stream what `stream_options.include_usage` added when the gateway asked for it on
 * the client's behalf: the usage-only chunk (`"choices": []`) and the `"usage": null` of the other chunks, so the
 * client gets what it would have got without asking. String searches per chunk; only a usage object that shares
 * its chunk with choices is parsed. Complete events pass at once; a partial one waits for the rest of it (no
 * client could read it earlier).
 */
export function createUsageStrip() {
  let pending = ''
  /** The blank line that ends an event: `\n\n`, or `\r\n\r\n` for an upstream that writes CRLF (seen at its first line end). */
  let blank: string | undefined
  let cut: UsageCut | undefined
  return {
    /** Set after `push` when its answer is its `text` with one event cut out, and nothing else changed. */
    lastCut: (): UsageCut | undefined => cut,
    /** The text to send for `text` ('' while an event is incomplete); `text` itself when nothing changed. */
    push(text: string): string {
      cut = undefined
      const buffer = pending ? pending + text : text
      if (!blank) {
        const nl = buffer.indexOf('\n')
        if (nl !== -1) blank = buffer.charCodeAt(nl - 1) === 13 ? '\r\n\r\n' : '\n\n'
      }
      // Usually a chunk is whole events, and "usage" is not in it.
      const last = !blank ? -1 : buffer.endsWith(blank) ? buffer.length - blank.length : buffer.lastIndexOf(blank)
      if (last === -1) {
        pending = buffer
        return ''
      }
      const end = last + blank!.length
      const complete = end === buffer.length ? buffer : buffer.slice(0, end)
      pending = end === buffer.length ? '' : buffer.slice(end)
      const at = complete.lastIndexOf('"usage"')
      if (at === -1) return complete
      const stripped = withoutUsage(complete, blank!, at)
      if (complete === text) cut = stripped.cut
      return stripped.out
    },
    /** What is left when the upstream ends: an event without its blank line. */
    end(): string {
      cut = undefined
      const rest = pending
      pending = ''
      const at = rest.lastIndexOf('"usage"')
      return at === -1 ? rest : withoutUsage(rest, blank ?? '\n\n', at).out
    },
  }
}

/**
 * `bytes` (the chunk `text` was decoded from) without the event `cut` removed from `text`, found again in the bytes
 * (the only event there that mentions `"usage"`) and sliced out rather than the rest encoded again. Undefined when
 * the bytes do not match (then encode).
 */
export function cutBytes(bytes: Uint8Array, cut: UsageCut): Uint8Array | undefined {
  const { blank } = cut
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const usage = buffer.lastIndexOf('"usage"')
  if (usage === -1) return undefined
  const before = buffer.lastIndexOf(blank, usage)
  const start = before === -1 ? 0 : before + blank.length
  const found = buffer.indexOf(blank, usage)
  const next = found === -1 ? buffer.length : found + blank.length
  // The usage chunk is ASCII: as many bytes as characters, or this is not the same event.
  if (next - start !== cut.next - cut.start) return undefined
  const out = new Uint8Array(bytes.length - (next - start))
  out.set(bytes.subarray(0, start))
  out.set(bytes.subarray(next), start)
  return out
}
