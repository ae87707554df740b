/** The lean OTLP encoder writes exactly the bytes the SDK's protobuf serializer writes, for every shape of span. */
import { describe, expect, test } from 'bun:test'
import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, diag, trace } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import fc from 'fast-check'
import { LeanProtobufTraceSerializer, encodeTraceRequest } from '../../plugins/otel/protobuf.ts'

function tracerWith(resource = resourceFromAttributes({ 'service.name': 'switchyard', 'host.name': 'gpu-box', 'process.pid': 4242 })) {
  const exporter = new InMemorySpanExporter()
  const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  return { exporter, provider }
}

const sdkBytes = (spans: ReadableSpan[]) => ProtobufTraceSerializer.serializeRequest(spans)!

describe('lean OTLP protobuf encoder', () => {
  test('a routing trace (server, stage and client spans, events, error status) encodes byte for byte as the SDK does', () => {
    const { exporter, provider } = tracerWith()
    const tracer = provider.getTracer('switchyard', '0.1.0')
    const remote = trace.setSpanContext(ROOT_CONTEXT, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true })
    const server = tracer.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'url.path': '/v1/chat/completions' } }, remote)
    const ctx = trace.setSpan(ROOT_CONTEXT, server)
    const select = tracer.startSpan('router.select', { attributes: { 'switchyard.candidates': ['qwen2.5-coder:7b', 'qwen2.5-coder:1.5b'] } }, ctx)
    select.setAttributes({ 'switchyard.backend': 'gpu0', 'switchyard.model': 'qwen2.5-coder:7b', 'switchyard.reasons': ['healthy', 'warm ✓ (加载)'] })
    select.end()
    const client = tracer.startSpan('chat qwen2.5-coder:7b', {
      kind: SpanKind.CLIENT,
      attributes: { 'server.port': 11434, 'gen_ai.request.temperature': 0.2, 'gen_ai.request.stream': true, 'switchyard.attempt': 0 },
      links: [{ context: select.spanContext(), attributes: { 'link.why': 'fallback', n: -3 } }],
    }, ctx)
    client.addEvent('gen_ai.first_chunk', { 'gen_ai.response.time_to_first_chunk': 0.0123 })
    client.addEvent('plain')
    client.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 500: bad gateway' })
    client.setAttribute('gen_ai.usage.output_tokens', 2 ** 40)
    client.setAttribute('big.negative', -(2 ** 40))
    client.end()
    server.setStatus({ code: SpanStatusCode.OK })
    server.end()
    const spans = exporter.getFinishedSpans()
    expect(spans).toHaveLength(3)
    const lean = encodeTraceRequest(spans)
    expect(Buffer.from(lean).equals(Buffer.from(sdkBytes(spans)))).toBe(true)
    // Encoding again (the buffer is reused) gives the same bytes, and the first result was a copy.
    expect(Buffer.from(encodeTraceRequest(spans)).equals(Buffer.from(lean))).toBe(true)
    expect(LeanProtobufTraceSerializer.serializeRequest(spans)).toEqual(lean)
  })

  test('spans from two resources and two scopes are grouped as the SDK groups them', () => {
    const a = tracerWith()
    const b = tracerWith(resourceFromAttributes({ 'service.name': 'other', 'deployment.environment': 'test' }))
    for (const [provider, n] of [[a.provider, 3], [b.provider, 2]] as const) {
      for (let i = 0; i < n; i++) {
        provider.getTracer(i % 2 ? 'scope-one' : 'scope-two', i % 2 ? '1.0.0' : undefined).startSpan(`span ${i}`).end()
      }
    }
    const spans = [...a.exporter.getFinishedSpans(), ...b.exporter.getFinishedSpans()].sort(() => 0.5 - Math.random())
    expect(spans).toHaveLength(5)
    expect(Buffer.from(encodeTraceRequest(spans)).equals(Buffer.from(sdkBytes(spans)))).toBe(true)
  })

  test('any attribute values (strings with any code points, numbers, booleans, arrays) encode as the SDK encodes them', () => {
    const { exporter, provider } = tracerWith()
    const tracer = provider.getTracer('fuzz')
    const scalar = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.double(), fc.integer(), fc.maxSafeInteger(), fc.boolean())
    const value = fc.oneof(scalar, fc.array(fc.string({ unit: 'grapheme', maxLength: 20 }), { maxLength: 5 }), fc.array(fc.double(), { maxLength: 4 }))
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), value, { maxKeys: 12 }), (name, attributes) => {
        exporter.reset()
        const span = tracer.startSpan(name, { attributes })
        span.addEvent(name, attributes)
        span.end()
        const spans = exporter.getFinishedSpans()
        return spans.length === 1 && Buffer.from(encodeTraceRequest(spans)).equals(Buffer.from(sdkBytes(spans)))
      }),
      { numRuns: 300 },
    )
  })

  test('a batch larger than the writer started with grows it and still matches', () => {
    const { exporter, provider } = tracerWith()
    const tracer = provider.getTracer('big')
    for (let i = 0; i < 600; i++) tracer.startSpan(`chat model-${i}`, { attributes: { 'switchyard.reasons': Array.from({ length: 8 }, (_, j) => `reason ${j} `.repeat(8)) } }).end()
    const spans = exporter.getFinishedSpans()
    expect(spans).toHaveLength(600)
    const lean = encodeTraceRequest(spans)
    expect(lean.length).toBeGreaterThan(256 * 1024)
    expect(Buffer.from(lean).equals(Buffer.from(sdkBytes(spans)))).toBe(true)
  })

  test('a value the two passes read differently falls back to the SDK serializer for that export, with a warning', () => {
    const { exporter, provider } = tracerWith()
    provider.getTracer('flaky').startSpan('chat model').end()
    const [span] = exporter.getFinishedSpans()
    let reads = 0
    // A getter that answers longer each time it is read: the sizing pass and the writing pass disagree.
    const attributes = {
      get flaky() {
        reads++
        return 'x'.repeat(reads)
      },
    }
    const fake = { ...span!, spanContext: () => span!.spanContext(), attributes } as unknown as ReadableSpan
    const warnings: string[] = []
    diag.setLogger({ warn: (m: string) => warnings.push(m), error() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN)
    try {
      const lean = encodeTraceRequest([fake])
      expect(reads).toBe(4)
      expect(warnings.some((w) => w.includes("uses the SDK's serializer"))).toBe(true)
      // The SDK's serializer, reading the third and fourth values again, writes the same bytes.
      reads = 2
      expect(Buffer.from(lean).equals(Buffer.from(sdkBytes([fake])))).toBe(true)
      expect(Buffer.from(lean).includes('xxxx')).toBe(true)
    } finally {
      diag.disable()
    }
  })
})
