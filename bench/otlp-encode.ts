/** `bun bench/otlp-encode.ts`: the lean OTLP encoder against the SDK's protobuf serializer on a routing trace's spans (ratio, same process). */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { encodeTraceRequest } from '../plugins/otel/protobuf.ts'
import { median } from './summary.ts'

const exporter = new InMemorySpanExporter()
const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer('switchyard', '0.1.0')
/** What one `auto` request exports: SERVER, cache.lookup, router.classify, router.select, CLIENT. */
const makeSpans = (i: number) => {
  const server = tracer.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.route': '/v1/chat/completions', 'url.path': '/v1/chat/completions', 'switchyard.request_id': `req-${i}-abcdef`, 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'auto' } })
  const ctx = trace.setSpan(ROOT_CONTEXT, server)
  tracer.startSpan('cache.lookup', { attributes: { 'switchyard.cache': 'miss' } }, ctx).end()
  tracer.startSpan('router.classify', { attributes: { 'switchyard.route': 'auto', 'switchyard.class': 'MODERATE', 'switchyard.confidence': 0.71, 'switchyard.classifier': 'learned-classifier', 'switchyard.reasons': ['learned p=0.71', 'asks for code', '~40 prompt tokens'] } }, ctx).end()
  tracer.startSpan('router.select', { attributes: { 'switchyard.candidates': ['qwen2.5-coder:7b', 'qwen2.5-coder:1.5b'], 'switchyard.backend': 'sim', 'switchyard.model': 'qwen2.5-coder:7b', 'switchyard.reasons': ['tier MODERATE', 'sim: healthy, warm'] } }, ctx).end()
  const client = tracer.startSpan('chat qwen2.5-coder:7b', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': 'qwen2.5-coder:7b', 'gen_ai.request.stream': false, 'gen_ai.request.temperature': 0, 'server.address': '127.0.0.1', 'server.port': 11434, 'switchyard.backend': 'sim', 'switchyard.attempt': 0 } }, ctx)
  client.addEvent('gen_ai.first_chunk')
  client.setAttributes({ 'gen_ai.response.model': 'qwen2.5-coder:7b', 'gen_ai.usage.input_tokens': 41, 'gen_ai.usage.output_tokens': 12, 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.response.time_to_first_chunk': 0.0004 })
  client.end()
  server.setAttributes({ 'switchyard.cache': 'miss', 'switchyard.fallback_count': 0, 'http.response.status_code': 200 })
  server.end()
}
/** The SDK's own cost of a request's spans (start, attributes, events, end into a processor), the floor under any encoder. */
for (let i = 0; i < 20_000; i++) makeSpans(i)
exporter.reset()
const makeRounds: number[] = []
for (let r = 0; r < 15; r++) {
  const t = Bun.nanoseconds()
  for (let i = 0; i < 2_000; i++) makeSpans(i)
  makeRounds.push((Bun.nanoseconds() - t) / 2_000 / 1e3)
  exporter.reset()
}
for (let i = 0; i < 128; i++) makeSpans(i)
const spans = exporter.getFinishedSpans()
const time = (encode: () => unknown) => {
  const rounds: number[] = []
  for (let r = 0; r < 15; r++) {
    const t = Bun.nanoseconds()
    for (let i = 0; i < 20; i++) encode()
    rounds.push((Bun.nanoseconds() - t) / 20 / spans.length / 1e3)
  }
  return median(rounds)
}
for (let warm = 0; warm < 50; warm++) {
  ProtobufTraceSerializer.serializeRequest(spans)
  encodeTraceRequest(spans)
}
const sdk = time(() => ProtobufTraceSerializer.serializeRequest(spans))
const lean = time(() => encodeTraceRequest(spans))
console.log(`SDK spans of one auto request (5 spans, ~35 attributes, made and ended into a processor): ${median(makeRounds).toFixed(1)} µs`)
console.log(`OTLP protobuf encoding of ${spans.length} spans (5 a request): SDK ${sdk.toFixed(2)} µs/span (${(sdk * 5).toFixed(1)} µs a request), lean ${lean.toFixed(2)} µs/span (${(lean * 5).toFixed(1)} µs a request): ${(sdk / lean).toFixed(2)}x faster`)
