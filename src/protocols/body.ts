/** Read a request body once, within a size limit, and parse it as a JSON object. */
import { InvalidJsonError, InvalidRequestError, PayloadTooLargeError, messageOf } from '../errors.ts'

export interface ReadBody {
  readonly bytes: Uint8Array
  readonly json: Record<string, unknown>
}

/** Stateless without `stream: true`: one for every request. */
const decoder = new TextDecoder()

export async function readJsonBody(req: Request, maxBytes: number): Promise<ReadBody> {
  const declared = Number(req.headers.get('content-length') ?? '0')
  if (declared > maxBytes) throw new PayloadTooLargeError(maxBytes)
  // With a declared length the native reader is used (no JS stream per request); chunked bodies are counted as they come.
  const bytes = req.headers.has('content-length') ? new Uint8Array(await req.arrayBuffer()) : await readLimited(req, maxBytes)
  if (bytes.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes)
  if (bytes.byteLength === 0) throw new InvalidRequestError('request body is empty; send a JSON object')
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new InvalidJsonError(messageOf(error))
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new InvalidRequestError('request body must be a JSON object')
  return { bytes, json: json as Record<string, unknown> }
}

async function readLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = req.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel()
      throw new PayloadTooLargeError(maxBytes)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array
  const out = new Uint8Array(total)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}
