/** Span-tree helpers for telemetry tests: flush the registered provider, wait for a trace, walk parents and children. */
import { ProxyTracerProvider, trace } from '@opentelemetry/api'
import type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.ts'
import { until } from './until.ts'

/** Export whatever the registered SDK provider has queued (the batch processor otherwise waits seconds). */
export async function flushSpans(): Promise<void> {
  const global = trace.getTracerProvider()
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global
  if ('forceFlush' in provider && typeof provider.forceFlush === 'function') await (provider.forceFlush as () => Promise<void>)()
}

/** A fresh W3C traceparent from a "client", sampled. */
export function clientTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = crypto.randomUUID().replace(/-/g, '')
  const spanId = crypto.randomUUID().replace(/-/g, '').slice(0, 16)
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId }
}

export const spansOf = (receiver: OtlpReceiver, traceId: string) => receiver.spans.filter((s) => s.traceId === traceId)

/** Flush until the trace has at least `names` (each present once or more), then return its spans. */
export async function waitForTrace(receiver: OtlpReceiver, traceId: string, names: readonly string[]): Promise<ReceivedSpan[]> {
  await until(async () => {
    await flushSpans()
    const have = new Set(spansOf(receiver, traceId).map((s) => s.name))
    return names.every((n) => have.has(n))
  }, 3_000, `spans ${names.join(', ')} in trace ${traceId}`)
  return spansOf(receiver, traceId)
}

export function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name)
  if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length}: ${describeTree(spans)}`)
  return found[0]!
}

export const childrenOf = (spans: readonly ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId)

/** The tree as indented lines, for failure messages. */
export function describeTree(spans: readonly ReceivedSpan[]): string {
  const ids = new Set(spans.map((s) => s.spanId))
  const lines: string[] = []
  const walk = (s: ReceivedSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${s.name} [kind ${s.kind}, status ${s.status.code}]`)
    for (const c of childrenOf(spans, s)) walk(c, depth + 1)
  }
  for (const root of spans.filter((s) => !ids.has(s.parentSpanId))) walk(root, 0)
  return `\n${lines.join('\n')}`
}
