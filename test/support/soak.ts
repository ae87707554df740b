/** A bounded soak: a mix of plain, streamed, aborted and faulted requests through a gateway, with figures. */

export interface SoakOptions {
  readonly gatewayUrl: string
  readonly simUrl: string
  readonly requests: number
  readonly concurrency: number
}

export interface SoakResult {
  readonly requests: number
  readonly byStatus: Record<string, number>
  readonly aborted: number
  readonly faults: number
  readonly seconds: number
  readonly rssStartMiB: number
  readonly rssEndMiB: number
}

const KINDS = ['ollama-stream', 'openai-json', 'openai-stream', 'abort', 'fault-500', 'fault-drop'] as const

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  Bun.gc(true)
  const rssStart = process.memoryUsage().rss
  const started = performance.now()
  const byStatus: Record<string, number> = {}
  let aborted = 0
  let faults = 0
  let next = 0
  const one = async (i: number) => {
    const kind = KINDS[i % KINDS.length] ?? 'openai-json'
    if (kind === 'fault-500' || kind === 'fault-drop') {
      faults++
      await fetch(`${o.simUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: kind === 'fault-500' ? 'status-500' : 'drop-mid-stream', count: 1 }) })
    }
    const ollama = kind === 'ollama-stream'
    const path = ollama ? '/api/chat' : '/v1/chat/completions'
    const stream = kind !== 'openai-json'
    const controller = new AbortController()
    try {
      const res = await fetch(`${o.gatewayUrl}${path}`, {
        method: 'POST', signal: controller.signal,
        body: JSON.stringify({ model: i % 2 ? 'auto' : 'qwen2.5-coder:7b', stream, messages: [{ role: 'user', content: `soak ${i % 50}` }] }),
      })
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1
      if (kind === 'abort' && res.body) {
        const reader = res.body.getReader()
        await reader.read()
        controller.abort()
        aborted++
        await reader.read().catch(() => {})
      } else await res.text().catch(() => '')
    } catch {
      byStatus.network = (byStatus.network ?? 0) + 1
    }
  }
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.requests) await one(next++)
    }),
  )
  Bun.gc(true)
  return {
    requests: o.requests, byStatus, aborted, faults, seconds: (performance.now() - started) / 1000,
    rssStartMiB: Math.round(rssStart / 2 ** 20), rssEndMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  }
}
