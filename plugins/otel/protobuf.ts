/**
 * A lean OTLP/protobuf trace encoder behind the SDK's serializer interface: the same bytes as the SDK's
 * `ProtobufTraceSerializer` (test/telemetry/protobuf.test.ts compares them), written for less CPU per span.
 *
 * How: one pass sizes every message bottom-up (kept in a reused array, in the order the writer meets them), a second
 * writes each length once, so nothing is moved after it is written; attribute keys, which repeat on every span, are
 * encoded once (tag, length and UTF-8 bytes) and copied; trace and span ids go from hex straight into the buffer; the
 * resource and scope of a batch are encoded once per export. Responses are decoded by the SDK's own deserializer.
 */
import { type Attributes, type AttributeValue, type HrTime, type Link, type SpanContext, diag } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace'

type Scope = ReadableSpan['instrumentationScope']
type Resource = ReadableSpan['resource']

const MIN_64_BIT_INT = -(2 ** 63)
const MAX_64_BIT_INT = 2 ** 63
const HAS_IS_REMOTE = 0x100
const IS_REMOTE = 0x200
/** Keys are strings from a small set (attribute names); past this many distinct ones new keys are not cached. */
const MAX_CACHED_KEYS = 4_096

const varintSize = (v: number): number =>
  v < 0 ? 10 : v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : v < 2 ** 35 ? 5 : v < 2 ** 42 ? 6 : v < 2 ** 49 ? 7 : v < 2 ** 56 ? 8 : 9
/** A length-delimited field's whole size: tag (field numbers here are below 16: one byte), length, content. */
const delimited = (length: number) => 1 + varintSize(length) + length

function utf8Length(s: string): number {
  const n = s.length
  let bytes = n
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2
      i++
    } else bytes += 2
  }
  return bytes
}

const encoder = new TextEncoder()
const keyCache = new Map<string, Uint8Array>()

/** Field 1 (key) of a KeyValue: tag, length and bytes, encoded once per distinct key. */
function keyBytes(key: string): Uint8Array {
  let bytes = keyCache.get(key)
  if (bytes) return bytes
  // At most 3 UTF-8 bytes per UTF-16 unit, 5 for the length.
  const w = new Writer(6 + 3 * key.length)
  w.byte(0x0a)
  w.string(key)
  bytes = w.buf.slice(0, w.pos)
  if (keyCache.size < MAX_CACHED_KEYS) keyCache.set(key, bytes)
  return bytes
}

class Writer {
  buf: Uint8Array
  view: DataView
  pos = 0
  next = 0

  constructor(
    capacity: number,
    /** Message sizes from the sizing pass, read back in the same order by the writing pass. */
    readonly sizes: number[] = [],
  ) {
    this.buf = new Uint8Array(Math.max(64, capacity))
    this.view = new DataView(this.buf.buffer)
  }

  reset(capacity: number): void {
    if (this.buf.length < capacity) {
      let n = this.buf.length
      while (n < capacity) n *= 2
      this.buf = new Uint8Array(n)
      this.view = new DataView(this.buf.buffer)
    }
    this.pos = 0
    this.next = 0
  }

  byte(b: number): void {
    this.buf[this.pos++] = b
  }

  varint(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0
      while (v > 127) {
        this.buf[this.pos++] = (v & 127) | 128
        v >>>= 7
      }
      this.buf[this.pos++] = v
      return
    }
    // As the SDK writes it: two's complement over 64 bits for negatives, high/low halves for large values.
    let low: number
    let high: number
    const abs = Math.abs(value)
    low = abs >>> 0
    high = (abs / 4294967296) >>> 0
    if (value < 0) {
      low = ~low >>> 0
      high = ~high >>> 0
      low = (low + 1) >>> 0
      if (low === 0) high = (high + 1) >>> 0
    }
    while (high > 0 || low > 127) {
      this.buf[this.pos++] = (low & 127) | 128
      low = ((low >>> 7) | (high << 25)) >>> 0
      high >>>= 7
    }
    this.buf[this.pos++] = low & 127
  }

  /** A nested message's tag and the length the sizing pass found for it. */
  open(tag: number): void {
    this.buf[this.pos++] = tag
    this.varint(this.sizes[this.next++]!)
  }

  string(s: string): void {
    const n = s.length
    let ascii = true
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 127) {
        ascii = false
        break
      }
    }
    if (ascii) {
      this.varint(n)
      const buf = this.buf
      let p = this.pos
      for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i)
      this.pos = p
      return
    }
    const bytes = encoder.encode(s)
    this.varint(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  bytes(b: Uint8Array): void {
    if (b.length < 32) {
      for (let i = 0; i < b.length; i++) this.buf[this.pos++] = b[i]!
    } else {
      this.buf.set(b, this.pos)
      this.pos += b.length
    }
  }

  /** A hex id as a length-delimited bytes field. */
  hex(tag: number, hex: string): void {
    const n = hex.length >> 1
    this.buf[this.pos++] = tag
    this.buf[this.pos++] = n
    for (let i = 0; i < n; i++) this.buf[this.pos++] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1))
  }

  fixed32(v: number): void {
    this.view.setUint32(this.pos, v >>> 0, true)
    this.pos += 4
  }

  /** An HrTime as fixed64 nanoseconds, split into 32-bit halves exactly as the SDK does. */
  time(t: HrTime): void {
    const seconds = t[0]
    const lower16 = (seconds & 0xffff) * 1e9
    const upper = ((seconds / 65536) >>> 0) * 1e9
    const low = (lower16 >>> 0) + ((((upper & 0xffff) * 65536) >>> 0)) + t[1]
    const high = (Math.floor(lower16 / 4294967296) + ((upper / 65536) >>> 0) + Math.floor(low / 4294967296)) >>> 0
    this.view.setUint32(this.pos, low >>> 0, true)
    this.view.setUint32(this.pos + 4, high, true)
    this.pos += 8
  }

  double(v: number): void {
    this.view.setFloat64(this.pos, v, true)
    this.pos += 8
  }
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  return c - 55
}

const hexBytes = (hex: string) => hex.length >> 1

// --- sizing pass: each function returns a message's content size and pushes nested sizes in writing order ---

function sizeAnyValue(sizes: number[], value: unknown): number {
  const t = typeof value
  if (t === 'string') return delimited(utf8Length(value as string))
  if (t === 'boolean') return 2
  if (t === 'number') {
    const n = value as number
    return Number.isInteger(n) && n >= MIN_64_BIT_INT && n < MAX_64_BIT_INT ? 1 + varintSize(n) : 9
  }
  if (value instanceof Uint8Array) return delimited(value.length)
  if (Array.isArray(value)) {
    const at = sizes.push(0) - 1
    let size = 0
    for (const item of value) {
      const itemAt = sizes.push(0) - 1
      const itemSize = sizeAnyValue(sizes, item)
      sizes[itemAt] = itemSize
      size += delimited(itemSize)
    }
    sizes[at] = size
    return delimited(size)
  }
  if (t === 'object' && value !== null) {
    const at = sizes.push(0) - 1
    let size = 0
    for (const k in value as Record<string, unknown>) {
      if (!Object.hasOwn(value as object, k)) continue
      const kvAt = sizes.push(0) - 1
      const valueAt = sizes.push(0) - 1
      const valueSize = sizeAnyValue(sizes, (value as Record<string, unknown>)[k])
      sizes[valueAt] = valueSize
      const kvSize = delimited(utf8Length(k)) + delimited(valueSize)
      sizes[kvAt] = kvSize
      size += delimited(kvSize)
    }
    sizes[at] = size
    return delimited(size)
  }
  return 0
}

function sizeAttributes(sizes: number[], attributes: Attributes | undefined): number {
  let size = 0
  if (!attributes) return 0
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue
    const kvAt = sizes.push(0) - 1
    const valueAt = sizes.push(0) - 1
    const valueSize = sizeAnyValue(sizes, attributes[key])
    sizes[valueAt] = valueSize
    const kvSize = keyBytes(key).length + delimited(valueSize)
    sizes[kvAt] = kvSize
    size += delimited(kvSize)
  }
  return size
}

function sizeEvent(sizes: number[], event: TimedEvent): number {
  return 9 + delimited(utf8Length(event.name)) + sizeAttributes(sizes, event.attributes) + 1 + varintSize(event.droppedAttributesCount || 0)
}

const flagsOf = (traceFlags: number, isRemote: boolean | undefined) => (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0)

/** Fields 1-3 of a span or a link: trace id, span id and trace state. */
function idsSize(ctx: SpanContext): number {
  const state = ctx.traceState?.serialize()
  return delimited(hexBytes(ctx.traceId)) + delimited(hexBytes(ctx.spanId)) + (state ? delimited(utf8Length(state)) : 0)
}

function sizeLink(sizes: number[], link: Link): number {
  let size = idsSize(link.context)
  size += sizeAttributes(sizes, link.attributes)
  size += 1 + varintSize(link.droppedAttributesCount || 0)
  return size + 5
}

function sizeSpan(sizes: number[], span: ReadableSpan, ctx: SpanContext): number {
  let size = idsSize(ctx)
  const parent = span.parentSpanContext?.spanId
  if (parent) size += delimited(hexBytes(parent))
  size += delimited(utf8Length(span.name))
  if (span.kind != null) size += 1 + varintSize(span.kind + 1)
  size += 18
  size += sizeAttributes(sizes, span.attributes)
  size += 1 + varintSize(span.droppedAttributesCount)
  for (const event of span.events) {
    const at = sizes.push(0) - 1
    const eventSize = sizeEvent(sizes, event)
    sizes[at] = eventSize
    size += delimited(eventSize)
  }
  size += 1 + varintSize(span.droppedEventsCount)
  for (const link of span.links) {
    const at = sizes.push(0) - 1
    const linkSize = sizeLink(sizes, link)
    sizes[at] = linkSize
    size += 1 + varintSize(linkSize) + linkSize
  }
  size += 1 + varintSize(span.droppedLinksCount)
  const status = (span.status.message ? delimited(utf8Length(span.status.message)) : 0) + 1 + varintSize(span.status.code)
  sizes.push(status)
  size += delimited(status)
  return size + 6
}

// --- writing pass: the same walk, each nested message opened with its size from the sizing pass ---

function writeAnyValue(w: Writer, value: unknown): void {
  const t = typeof value
  if (t === 'string') {
    w.byte(0x0a)
    w.string(value as string)
  } else if (t === 'boolean') {
    w.byte(0x10)
    w.byte(value ? 1 : 0)
  } else if (t === 'number') {
    const n = value as number
    if (Number.isInteger(n) && n >= MIN_64_BIT_INT && n < MAX_64_BIT_INT) {
      w.byte(0x18)
      w.varint(n)
    } else {
      w.byte(0x21)
      w.double(n)
    }
  } else if (value instanceof Uint8Array) {
    w.byte(0x3a)
    w.varint(value.length)
    w.bytes(value)
  } else if (Array.isArray(value)) {
    w.open(0x2a)
    for (const item of value) {
      w.open(0x0a)
      writeAnyValue(w, item)
    }
  } else if (t === 'object' && value !== null) {
    w.open(0x32)
    for (const k in value as Record<string, unknown>) {
      if (!Object.hasOwn(value as object, k)) continue
      w.open(0x0a)
      w.byte(0x0a)
      w.string(k)
      w.open(0x12)
      writeAnyValue(w, (value as Record<string, unknown>)[k])
    }
  }
}

function writeAttributes(w: Writer, tag: number, attributes: Attributes | undefined): void {
  if (!attributes) return
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue
    w.open(tag)
    w.bytes(keyBytes(key))
    w.open(0x12)
    writeAnyValue(w, attributes[key] as AttributeValue)
  }
}

function writeIds(w: Writer, ctx: SpanContext): void {
  w.hex(0x0a, ctx.traceId)
  w.hex(0x12, ctx.spanId)
  const state = ctx.traceState?.serialize()
  if (state) {
    w.byte(0x1a)
    w.string(state)
  }
}

function writeSpan(w: Writer, span: ReadableSpan, ctx: SpanContext): void {
  writeIds(w, ctx)
  const parent = span.parentSpanContext?.spanId
  if (parent) w.hex(0x22, parent)
  w.byte(0x2a)
  w.string(span.name)
  if (span.kind != null) {
    w.byte(0x30)
    w.varint(span.kind + 1)
  }
  w.byte(0x39)
  w.time(span.startTime)
  w.byte(0x41)
  w.time(span.endTime)
  writeAttributes(w, 0x4a, span.attributes)
  w.byte(0x50)
  w.varint(span.droppedAttributesCount)
  for (const event of span.events) {
    w.open(0x5a)
    w.byte(0x09)
    w.time(event.time)
    w.byte(0x12)
    w.string(event.name)
    writeAttributes(w, 0x1a, event.attributes)
    w.byte(0x20)
    w.varint(event.droppedAttributesCount || 0)
  }
  w.byte(0x60)
  w.varint(span.droppedEventsCount)
  for (const link of span.links) {
    w.open(0x6a)
    const lc = link.context
    writeIds(w, lc)
    writeAttributes(w, 0x22, link.attributes)
    w.byte(0x28)
    w.varint(link.droppedAttributesCount || 0)
    w.byte(0x35)
    w.fixed32(flagsOf(lc.traceFlags, lc.isRemote))
  }
  w.byte(0x70)
  w.varint(span.droppedLinksCount)
  w.open(0x7a)
  if (span.status.message) {
    w.byte(0x12)
    w.string(span.status.message)
  }
  w.byte(0x18)
  w.varint(span.status.code)
  // Field 16 (flags, fixed32): a two-byte tag.
  w.byte(0x85)
  w.byte(0x01)
  w.fixed32(flagsOf(ctx.traceFlags, span.parentSpanContext?.isRemote))
}

/** A resource's or scope's encoded message (tag included), once per object. */
const encodedResources = new WeakMap<Resource, Uint8Array>()
const encodedScopes = new WeakMap<Scope, Uint8Array>()

/** A message encoded on its own: `size` returns its whole length (tag included) and fills `sizes` for `fill`. */
function encodeWith(fill: (w: Writer) => void, size: (sizes: number[]) => number): Uint8Array {
  const sizes: number[] = []
  const w = new Writer(size(sizes), sizes)
  fill(w)
  return w.buf.slice(0, w.pos)
}

function resourceBytes(resource: Resource): Uint8Array {
  let bytes = encodedResources.get(resource)
  if (bytes) return bytes
  // Resource: attributes (1), dropped_attributes_count (2) = 0, as the SDK writes it.
  bytes = encodeWith(
    (w) => {
      w.open(0x0a)
      writeAttributes(w, 0x0a, resource.attributes)
      w.byte(0x10)
      w.byte(0)
    },
    (sizes) => {
      const at = sizes.push(0) - 1
      sizes[at] = sizeAttributes(sizes, resource.attributes) + 2
      return delimited(sizes[at]!)
    },
  )
  encodedResources.set(resource, bytes)
  return bytes
}

function scopeBytes(scope: Scope): Uint8Array {
  let bytes = encodedScopes.get(scope)
  if (bytes) return bytes
  const attributes = (scope as { attributes?: Attributes }).attributes
  const dropped = (scope as { droppedAttributesCount?: number }).droppedAttributesCount
  bytes = encodeWith(
    (w) => {
      w.open(0x0a)
      w.byte(0x0a)
      w.string(scope.name)
      if (scope.version) {
        w.byte(0x12)
        w.string(scope.version)
      }
      writeAttributes(w, 0x1a, attributes)
      if (dropped) {
        w.byte(0x20)
        w.varint(dropped)
      }
    },
    (sizes) => {
      const at = sizes.push(0) - 1
      let size = delimited(utf8Length(scope.name))
      if (scope.version) size += delimited(utf8Length(scope.version))
      size += sizeAttributes(sizes, attributes)
      if (dropped) size += 1 + varintSize(dropped)
      sizes[at] = size
      return delimited(size)
    },
  )
  encodedScopes.set(scope, bytes)
  return bytes
}

/** Spans grouped by resource, then scope, by identity and in first-seen order (as the SDK groups them). */
function group(spans: readonly ReadableSpan[]): Map<Resource, Map<Scope, ReadableSpan[]>> {
  const byResource = new Map<Resource, Map<Scope, ReadableSpan[]>>()
  for (const span of spans) {
    let byScope = byResource.get(span.resource)
    if (!byScope) byResource.set(span.resource, (byScope = new Map()))
    let list = byScope.get(span.instrumentationScope)
    if (!list) byScope.set(span.instrumentationScope, (list = []))
    list.push(span)
  }
  return byResource
}

/** The export writer: its buffer (grown to the largest batch) and sizes array are reused from export to export. */
const shared = new Writer(64 * 1024)

function writeGroups(w: Writer, grouped: Map<Resource, Map<Scope, ReadableSpan[]>>, contexts: readonly SpanContext[]): void {
  let i = 0
  for (const [resource, byScope] of grouped) {
    w.open(0x0a)
    w.bytes(resourceBytes(resource))
    for (const [scope, list] of byScope) {
      w.open(0x12)
      w.bytes(scopeBytes(scope))
      for (const span of list) {
        w.open(0x12)
        writeSpan(w, span, contexts[i++]!)
      }
      if (scope.schemaUrl) {
        w.byte(0x1a)
        w.string(scope.schemaUrl)
      }
    }
    const schemaUrl = (resource as { schemaUrl?: string }).schemaUrl
    if (schemaUrl) {
      w.byte(0x1a)
      w.string(schemaUrl)
    }
  }
}

function fallback(spans: readonly ReadableSpan[], why: string): Uint8Array {
  diag.warn(`OTLP encoder: ${why}; this export uses the SDK's serializer`)
  return ProtobufTraceSerializer.serializeRequest([...spans]) ?? new Uint8Array()
}

/** An ExportTraceServiceRequest for `spans`, byte for byte what the SDK's protobuf serializer writes. */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  const w = shared
  const sizes = w.sizes
  sizes.length = 0
  const grouped = group(spans)
  const contexts: SpanContext[] = []
  let total = 0
  for (const [resource, byScope] of grouped) {
    const resourceAt = sizes.push(0) - 1
    let resourceSize = resourceBytes(resource).length
    for (const [scope, list] of byScope) {
      const scopeAt = sizes.push(0) - 1
      let scopeSize = scopeBytes(scope).length
      for (const span of list) {
        const ctx = span.spanContext()
        contexts.push(ctx)
        const at = sizes.push(0) - 1
        const spanSize = sizeSpan(sizes, span, ctx)
        sizes[at] = spanSize
        scopeSize += 1 + varintSize(spanSize) + spanSize
      }
      if (scope.schemaUrl) scopeSize += delimited(utf8Length(scope.schemaUrl))
      sizes[scopeAt] = scopeSize
      resourceSize += delimited(scopeSize)
    }
    const schemaUrl = (resource as { schemaUrl?: string }).schemaUrl
    if (schemaUrl) resourceSize += delimited(utf8Length(schemaUrl))
    sizes[resourceAt] = resourceSize
    total += delimited(resourceSize)
  }
  w.reset(total)
  try {
    writeGroups(w, grouped, contexts)
  } catch (error) {
    return fallback(spans, `failed (${error instanceof Error ? error.message : String(error)})`)
  }
  // Sizing and writing walk the same fields; should they ever disagree (a value this encoder sizes wrongly), the SDK's
  // serializer writes the request instead of a damaged one.
  if (w.pos !== total) return fallback(spans, `wrote ${w.pos} bytes where ${total} were sized`)
  // The transport may hold the bytes across retries: hand over a copy, keep the buffer for the next export.
  return w.buf.slice(0, w.pos)
}

/** The SDK's serializer interface with this encoder for requests and the SDK's decoder for responses. */
export const LeanProtobufTraceSerializer: typeof ProtobufTraceSerializer = {
  serializeRequest: (spans) => encodeTraceRequest(spans),
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
}
