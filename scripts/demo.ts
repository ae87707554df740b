/** `bun run demo`: two simulated backends and the gateway with examples/demo.config.json, plus curl examples. */
import { resolve } from 'node:path'
import { builtinPlugins } from '../plugins/index.ts'
import { loadConfig } from '../src/config/load.ts'
import { createGateway } from '../src/gateway.ts'
import { startSimulator } from '../src/sim/server.ts'

const configPath = resolve(import.meta.dir, '../examples/demo.config.json')
const speed = Number(process.env.DEMO_SPEED ?? 4)
// Quality mode: the small model's weak answers are caught by the route's auditor and escalated (see docs/escalation.md).
const small = startSimulator({ port: 11501, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', 'llama3.2:3b'], speed, quality: true })
const big = startSimulator({ port: 11502, models: ['deepseek-coder:33b', 'qwen2.5-coder:7b'], speed, quality: true })
const loaded = await loadConfig(configPath)
const gateway = await createGateway(loaded, builtinPlugins)
const port = Number(process.env.PORT ?? loaded.config.server.port)
const server = Bun.serve({ port, hostname: loaded.config.server.host, idleTimeout: 120, development: false, fetch: gateway.fetch })
const url = server.url.origin

console.log(`
switchyard demo
  gateway     ${url}   (config: examples/demo.config.json)
  backend gpu0 ${small.url}  simulated Ollama: ${small.models.join(', ')}
  backend vllm ${big.url}  simulated OpenAI-compatible server: ${big.models.join(', ')}
  simulated delays are divided by ${speed} (DEMO_SPEED); answers follow the simulator's quality model
  SIMPLE answers are drafted on gpu0 while qwen2.5-coder:7b starts on vllm; a draft the auditor rejects is replaced

Try:
  curl -s ${url}/api/tags
  curl -si ${url}/api/chat -d '{"model":"auto","stream":false,"messages":[{"role":"user","content":"add a docstring to this function"}]}'
  curl -si ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"auto","messages":[{"role":"user","content":"refactor this module and redesign its architecture"}]}'
  curl -sN ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"qwen2.5-coder:7b","stream":true,"messages":[{"role":"user","content":"hello"}]}'
  curl -s ${url}/router/explain -d '{"model":"auto","messages":[{"role":"user","content":"why does this return None?"}]}'
  curl -s ${url}/health
Ctrl-C stops everything.
`)

const stop = async () => {
  await server.stop(true)
  await gateway.close()
  await Promise.all([small.close(), big.close()])
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
