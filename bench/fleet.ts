/** Start everything one bench run needs: simulators, OTLP sink, bare proxies, one gateway per config, the peer. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type GatewayVariant, type Upstreams, gatewayConfig, gatewayVariants } from './configs.ts'
import { portkeyHeaders, startPortkey } from './peer-portkey.ts'
import { BUN_ENV, type Child, LOAD_CORE, SERVER_CORE, freePort, startChild } from './processes.ts'
import { HOLD_MODEL, TTFB_MODEL } from './scenarios.ts'
import { messageOf } from '../src/errors.ts'

const ROOT = join(import.meta.dir, '..')


export interface Target {
  readonly name: string
  readonly kind: 'bare' | 'gateway' | 'peer'
  /** Serves the fast (instant) upstream. */
  readonly server: Child
  /** Same server kind pointed at the slow upstream (the bare proxy needs its own; others route by model). */
  readonly slowUrl: string
  readonly headers?: Record<string, string>
  readonly slowHeaders?: Record<string, string>
  readonly openaiOnly?: boolean
  readonly variant?: GatewayVariant
}

export interface Fleet {
  readonly targets: readonly Target[]
  readonly missing: readonly string[]
  readonly otlp: Child
  readonly slowUpstream: string
  close(): Promise<void>
}

const bun = process.execPath

/** A simulator on the load core. */
export async function sim(name: string, args: string[]): Promise<Child> {
  const port = freePort()
  return startChild({ name, cmd: [bun, join(ROOT, 'src/sim/main.ts'), '--port', String(port), ...args], url: `http://127.0.0.1:${port}`, core: LOAD_CORE, env: BUN_ENV })
}

/** The bare proxy in front of `upstream`, on the server core. */
export async function bareProxy(name: string, upstream: string): Promise<Child> {
  const port = freePort()
  return startChild({ name, cmd: [bun, join(import.meta.dir, 'bare-proxy.ts'), '--port', String(port), '--upstream', upstream], url: `http://127.0.0.1:${port}`, core: SERVER_CORE, env: BUN_ENV })
}

/** The OTLP/HTTP sink traced gateways export to, on the load core. */
export async function otlpSink(): Promise<Child> {
  const port = freePort()
  return startChild({ name: 'otlp-sink', cmd: [bun, join(import.meta.dir, 'otlp-sink.ts'), '--port', String(port)], url: `http://127.0.0.1:${port}`, readyPath: '/stats', core: LOAD_CORE })
}

/** One gateway config on the server core, its generated config file in `dir`; `bunFlags` go before the script (a profiler). */
export async function gatewayProcess(variant: GatewayVariant, up: Upstreams, dir: string, bunFlags: readonly string[] = []): Promise<Child> {
  const port = freePort()
  const path = join(dir, `${variant.name.replace(/\W+/g, '-')}.json`)
  await Bun.write(path, JSON.stringify(gatewayConfig(variant, up, port), null, 2))
  return startChild({ name: `gateway ${variant.name}`, cmd: [bun, ...bunFlags, join(ROOT, 'src/main.ts'), '--config', path, '--port', String(port)], url: `http://127.0.0.1:${port}`, core: SERVER_CORE, env: BUN_ENV })
}

export async function startFleet(options: { peer?: string; variants?: readonly string[] }): Promise<Fleet> {
  const children: Child[] = []
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
  const keep = <T extends Child>(c: T) => (children.push(c), c)
  const close = async () => {
    await Promise.all(children.map((c) => c.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const fast = keep(await sim('sim-instant', ['--instant']))
    // 120 tokens: the TTFB model streams for ~0.8 s, the hold model keeps a stream open ~3.4 s.
    const slow = keep(await sim('sim-slow', ['--models', `${TTFB_MODEL},${HOLD_MODEL}`, '--tokens', '120']))
    const otlp = keep(await otlpSink())
    const up = { fast: fast.url, slow: slow.url, otlp: otlp.url }
    const targets: Target[] = []
    const bare = keep(await bareProxy('bare', fast.url))
    const bareSlow = keep(await bareProxy('bare-slow', slow.url))
    targets.push({ name: 'bare', kind: 'bare', server: bare, slowUrl: bareSlow.url })
    const variants = gatewayVariants(up)
    const missing: string[] = []
    for (const variant of variants) {
      if (options.variants && !options.variants.includes(variant.name)) continue
      const server = keep(await gatewayProcess(variant, up, dir))
      targets.push({ name: variant.name, kind: 'gateway', server, slowUrl: server.url, variant })
    }
    if (options.peer === 'portkey') {
      try {
        const server = keep(await startPortkey())
        targets.push({ name: 'portkey', kind: 'peer', server, slowUrl: server.url, headers: portkeyHeaders(fast.url), slowHeaders: portkeyHeaders(slow.url), openaiOnly: true })
      } catch (error) {
        missing.push(`portkey: ${messageOf(error)}`)
      }
    }
    return { targets, missing, otlp, slowUpstream: slow.url, close }
  } catch (error) {
    await close()
    throw error
  }
}
