/** Two simulated backends behind a gateway with the default plugins (dashboard included), for dashboard tests. */
import { join } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway, type TestGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

export const ROUTES = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }

export interface TwoBackends {
  readonly gw: TestGateway
  /** The Ollama simulator serving qwen2.5-coder:1.5b and :7b. */
  readonly smallUrl: string
  /** The OpenAI-compatible simulator serving deepseek-coder:33b. */
  readonly bigUrl: string
  /** `key`: a client key, sent as a bearer token. */
  ask(content: string, model?: string, key?: string): Promise<Response>
  [Symbol.asyncDispose](): Promise<void>
}

/** A recorded nvidia-smi answer (two A100s, GPU 0 busy), printed by `sh` in place of nvidia-smi. */
const GPU_FIXTURE = join(import.meta.dir, '../fixtures/nvidia-smi/two-gpus-one-busy.csv')
const fakeGpus = { use: 'nvidia-smi-probe', options: { intervalMs: 200, command: ['sh', '-c', `cat '${GPU_FIXTURE}'`, 'sh'] } }

/** An auditor that fails a draft whose prompt contains `[fail-draft]` (score 0.1) and passes any other (0.9). */
const VERDICT_AUDITOR = join(import.meta.dir, '../fixtures/plugins/verdict-auditor.ts')

export interface TwoBackendsOptions {
  /** The backends sit on GPUs 0 and 1 reported by a fake nvidia-smi. */
  readonly gpus?: boolean
  /** Data endpoints need it (model endpoints need no key unless `auth` lists keys). */
  readonly adminKey?: string
  /** The config's `auth` (client keys, teams); `adminKey` is added to it. */
  readonly auth?: Record<string, unknown>
  /** SIMPLE drafts of route `auto` are audited by the verdict auditor and escalate to MODERATE when they fail. */
  readonly escalate?: boolean
  readonly costPerGpuHour?: number
}

/** The gateway config `startTwoBackends` serves, for tests that reload it changed. */
export function twoBackendsConfig(smallUrl: string, bigUrl: string, options: TwoBackendsOptions = {}): Record<string, unknown> {
  return {
    backends: [
      { name: 'gpu0', kind: 'ollama', url: smallUrl, ...(options.gpus ? { gpu: 0 } : {}) },
      { name: 'vllm', kind: 'openai', url: bigUrl, ...(options.gpus ? { gpu: 1 } : {}) },
    ],
    routes: options.escalate ? { auto: { ...ROUTES.auto, escalate: { auditor: 'verdict-auditor', classes: ['SIMPLE'] } } } : ROUTES,
    ...(options.adminKey || options.auth ? { auth: { ...options.auth, ...(options.adminKey ? { adminKey: options.adminKey } : {}) } } : {}),
    ...(options.costPerGpuHour === undefined ? {} : { costPerGpuHour: options.costPerGpuHour }),
    // The keyword classifier, not whatever the default is, so prompts land in known classes.
    plugins: [{ use: 'keyword-classifier' }, ...fastProbes, ...(options.gpus ? [fakeGpus] : []), ...(options.escalate ? [{ use: VERDICT_AUDITOR }] : [])],
  }
}

export async function startTwoBackends(options: TwoBackendsOptions = {}): Promise<TwoBackends> {
  const small = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
  const big = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
  const gw = await startGateway(twoBackendsConfig(small.url, big.url, options))
  await until(() => gw.gateway.deps.health.views().every((b) => b.up === true), 3_000, 'both backends up')
  return {
    gw,
    smallUrl: small.url,
    bigUrl: big.url,
    async ask(content, model = 'auto', key) {
      const headers = key ? { authorization: `Bearer ${key}` } : undefined
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) })
      await res.text()
      return res
    },
    async [Symbol.asyncDispose]() {
      await gw.close()
      await Promise.all([small.close(), big.close()])
    },
  }
}
