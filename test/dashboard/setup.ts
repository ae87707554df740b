/** Two simulated backends behind a gateway with the default plugins (dashboard included), for dashboard tests. */
import { join } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway, type TestGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

export const ROUTES = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }

export interface TwoBackends {
  readonly gw: TestGateway
  /** The OpenAI-compatible simulator serving deepseek-coder:33b. */
  readonly bigUrl: string
  ask(content: string, model?: string): Promise<Response>
  [Symbol.asyncDispose](): Promise<void>
}

/** A recorded nvidia-smi answer (two A100s, GPU 0 busy), printed by `sh` in place of nvidia-smi. */
const GPU_FIXTURE = join(import.meta.dir, '../fixtures/nvidia-smi/two-gpus-one-busy.csv')
const fakeGpus = { use: 'nvidia-smi-probe', options: { intervalMs: 200, command: ['sh', '-c', `cat '${GPU_FIXTURE}'`, 'sh'] } }

/** `gpus`: the backends sit on GPUs 0 and 1 reported by a fake nvidia-smi; `adminKey`: data endpoints need it (model endpoints need no key). */
export async function startTwoBackends(options: { gpus?: boolean; adminKey?: string } = {}): Promise<TwoBackends> {
  const small = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
  const big = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
  const gw = await startGateway({
    backends: [
      { name: 'gpu0', kind: 'ollama', url: small.url, ...(options.gpus ? { gpu: 0 } : {}) },
      { name: 'vllm', kind: 'openai', url: big.url, ...(options.gpus ? { gpu: 1 } : {}) },
    ],
    routes: ROUTES,
    ...(options.adminKey ? { auth: { adminKey: options.adminKey } } : {}),
    // The keyword classifier, not whatever the default is, so prompts land in known classes.
    plugins: [{ use: 'keyword-classifier' }, ...fastProbes, ...(options.gpus ? [fakeGpus] : [])],
  })
  await until(() => gw.gateway.deps.health.views().every((b) => b.up === true), 3_000, 'both backends up')
  return {
    gw,
    bigUrl: big.url,
    async ask(content, model = 'auto') {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) })
      await res.text()
      return res
    },
    async [Symbol.asyncDispose]() {
      await gw.close()
      await Promise.all([small.close(), big.close()])
    },
  }
}
