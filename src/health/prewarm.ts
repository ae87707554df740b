/** `models.<name>.keepWarm`: load the model on every Ollama backend serving it at startup, and keep it loaded. */
import type { Config } from '../config/schema.ts'
import type { Logger } from '../plugin/types.ts'
import type { HealthStore } from './state.ts'
import { messageOf } from '../errors.ts'
import { backendHeaders } from '../pipeline/upstream.ts'

export interface Prewarm {
  close(): void
}

const PROGRESS_EVERY_MS = 5_000
/** Re-sent periodically so a backend restart does not leave the model cold for long. */
const REFRESH_MS = 5 * 60_000

export function startPrewarm(config: Config, health: HealthStore, log: Logger): Prewarm {
  const controller = new AbortController()
  const jobs: { model: string; backend: string; url: string; headers: Record<string, string> }[] = []
  for (const [model, entry] of Object.entries(config.models ?? {})) {
    if (!entry.keepWarm) continue
    for (const view of health.views()) {
      if (view.kind !== 'ollama' || !view.models.some((m) => m.name === model)) continue
      const backend = config.backends.find((b) => b.name === view.name)
      jobs.push({ model, backend: view.name, url: view.url, headers: backend ? backendHeaders(backend) : {} })
    }
  }
  const warm = async (job: (typeof jobs)[number]) => {
    const started = performance.now()
    log.info('pre-warming model', { model: job.model, backend: job.backend })
    const ticker = setInterval(() => log.info('still loading', { model: job.model, backend: job.backend, elapsedS: Math.round((performance.now() - started) / 1000) }), PROGRESS_EVERY_MS)
    try {
      // An empty generate request loads the model; keep_alive -1 keeps it loaded.
      const res = await fetch(`${job.url}/api/generate`, {
        method: 'POST', headers: { ...job.headers, 'content-type': 'application/json' }, signal: controller.signal,
        body: JSON.stringify({ model: job.model, keep_alive: -1, stream: false }),
      })
      await res.text()
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      log.info('model warm', { model: job.model, backend: job.backend, ms: Math.round(performance.now() - started) })
    } catch (error) {
      if (!controller.signal.aborted) log.warn('pre-warm failed', { model: job.model, backend: job.backend, error: messageOf(error) })
    } finally {
      clearInterval(ticker)
    }
  }
  const warmAll = () => void Promise.all(jobs.map(warm))
  warmAll()
  const refresh = jobs.length ? setInterval(warmAll, REFRESH_MS) : undefined
  return {
    close() {
      controller.abort()
      if (refresh) clearInterval(refresh)
    },
  }
}
