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
