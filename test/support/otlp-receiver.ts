/** A loopback OTLP/HTTP trace receiver for tests: POST /v1/traces in protobuf or JSON, decoded to plain spans. */

/** OTLP span kinds (proto numbering, not the JS API's): 1 internal, 2 server, 3 client. */
export const OTLP_KIND = { internal: 1, server: 2, client: 3 } as const
export const OTLP_STATUS = { unset: 0, ok: 1, error: 2 } as const

export type AttrValue = string | number | boolean | AttrValue[] | undefined

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  /** Empty for a root span. */
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  readonly startNs: bigint
  readonly endNs: bigint
  readonly attributes: Readonly<Record<string, AttrValue>>
  readonly events: readonly { readonly name: string; readonly attributes: Readonly<Record<string, AttrValue>> }[]
  readonly status: { readonly code: number; readonly message: string }
  readonly service: string
}

export interface OtlpReceiver {
  readonly url: string
  readonly spans: ReceivedSpan[]
  /** Content types of the export requests, in order. */
  readonly contentTypes: string[]
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

// --- protobuf wire format: just enough of opentelemetry/proto/trace/v1 to read spans ---

type Field = { no: number; wire: number; varint?: bigint; bytes?: Uint8Array; fixed?: DataView }

function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = []
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const byte = buf[pos++]!
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result
      shift += 7n
    }
  }
  while (pos < buf.length) {
    const tag = Number(varint())
    const no = tag >>> 3
    const wire = tag & 7
    if (wire === 0) fields.push({ no, wire, varint: varint() })
    else if (wire === 2) {
      const len = Number(varint())
      fields.push({ no, wire, bytes: buf.subarray(pos, pos + len) })
      pos += len
    } else if (wire === 1) {
      fields.push({ no, wire, fixed: new DataView(view.buffer, view.byteOffset + pos, 8) })
      pos += 8
    } else if (wire === 5) {
      fields.push({ no, wire, fixed: new DataView(view.buffer, view.byteOffset + pos, 4) })
      pos += 4
    } else throw new Error(`unsupported protobuf wire type ${wire}`)
  }
  return fields
}

const text = new TextDecoder()
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '')
const str = (f: Field | undefined) => (f?.bytes ? text.decode(f.bytes) : '')
const all = (fields: Field[], no: number) => fields.filter((f) => f.no === no)
const one = (fields: Field[], no: number) => fields.find((f) => f.no === no)

function anyValue(buf: Uint8Array): AttrValue {
  const f = readFields(buf)[0]
  if (!f) return undefined
  switch (f.no) {
    case 1: return str(f)
    case 2: return f.varint === 1n
    case 3: return Number(BigInt.asIntN(64, f.varint ?? 0n))
    case 4: return f.fixed!.getFloat64(0, true)
    case 5: return all(readFields(f.bytes!), 1).map((v) => anyValue(v.bytes!))
    default: return undefined
  }
}

function keyValues(fields: Field[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {}
  for (const kv of fields) {
    const inner = readFields(kv.bytes!)
    out[str(one(inner, 1))] = anyValue(one(inner, 2)?.bytes ?? new Uint8Array())
  }
  return out
}

export function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = []
  for (const rs of all(readFields(body), 1)) {
    const rsFields = readFields(rs.bytes!)
    const resource = keyValues(all(readFields(one(rsFields, 1)?.bytes ?? new Uint8Array()), 1))
    for (const ss of all(rsFields, 2)) {
      for (const sp of all(readFields(ss.bytes!), 2)) {
        const f = readFields(sp.bytes!)
        const status = readFields(one(f, 15)?.bytes ?? new Uint8Array())
        spans.push({
          traceId: hex(one(f, 1)?.bytes), spanId: hex(one(f, 2)?.bytes), parentSpanId: hex(one(f, 4)?.bytes),
          name: str(one(f, 5)), kind: Number(one(f, 6)?.varint ?? 0n),
          startNs: one(f, 7)?.fixed?.getBigUint64(0, true) ?? 0n, endNs: one(f, 8)?.fixed?.getBigUint64(0, true) ?? 0n,
          attributes: keyValues(all(f, 9)),
          events: all(f, 11).map((e) => {
            const ef = readFields(e.bytes!)
            return { name: str(one(ef, 2)), attributes: keyValues(all(ef, 3)) }
          }),
          status: { code: Number(one(status, 3)?.varint ?? 0n), message: str(one(status, 2)) },
          service: String(resource['service.name'] ?? ''),
        })
      }
    }
  }
  return spans
}

// --- JSON (proto3 JSON with the OTLP deviations: hex ids, integer enums) ---

type JsonAny = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number; arrayValue?: { values?: JsonAny[] } }
type JsonKv = { key: string; value?: JsonAny }

function jsonValue(v: JsonAny | undefined): AttrValue {
  if (!v) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(jsonValue)
  return undefined
}

const jsonAttrs = (kvs: JsonKv[] | undefined) => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, jsonValue(kv.value)]))

function decodeJson(body: string): ReceivedSpan[] {
  const json = JSON.parse(body) as { resourceSpans?: { resource?: { attributes?: JsonKv[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }
  const spans: ReceivedSpan[] = []
  for (const rs of json.resourceSpans ?? []) {
    const resource = jsonAttrs(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const status = (s.status ?? {}) as { code?: number; message?: string }
        spans.push({
          traceId: String(s.traceId ?? ''), spanId: String(s.spanId ?? ''), parentSpanId: String(s.parentSpanId ?? ''),
          name: String(s.name), kind: Number(s.kind ?? 0),
          startNs: BigInt(String(s.startTimeUnixNano ?? 0)), endNs: BigInt(String(s.endTimeUnixNano ?? 0)),
          attributes: jsonAttrs(s.attributes as JsonKv[]),
          events: ((s.events ?? []) as { name: string; attributes?: JsonKv[] }[]).map((e) => ({ name: e.name, attributes: jsonAttrs(e.attributes) })),
          status: { code: status.code ?? 0, message: status.message ?? '' },
          service: String(resource['service.name'] ?? ''),
        })
      }
    }
  }
  return spans
}

export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = []
  const contentTypes: string[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const path = new URL(req.url).pathname
      if (req.method !== 'POST' || path !== '/v1/traces') return new Response('not found', { status: 404 })
      const type = req.headers.get('content-type') ?? ''
      contentTypes.push(type)
      if (type.includes('json')) {
        spans.push(...decodeJson(await req.text()))
        return Response.json({})
      }
      spans.push(...decodeProtobuf(new Uint8Array(await req.arrayBuffer())))
      return new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
    },
  })
  const close = async () => void (await server.stop(true))
  return { url: `http://127.0.0.1:${server.port}`, spans, contentTypes, close, [Symbol.asyncDispose]: close }
}
