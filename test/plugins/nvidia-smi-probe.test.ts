/** nvidia-smi-probe against a fake nvidia-smi script printing recorded fixtures, found by path or on PATH. */
import { afterEach, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { Logger } from 'switchyard/plugin'
import nvidiaSmiProbe from '../../plugins/nvidia-smi-probe/index.ts'
import { keepNothing } from 'switchyard/plugin'

const FIXTURES = join(import.meta.dir, '../fixtures/nvidia-smi')
const QUERY = '--query-gpu=index,uuid,name,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw,power.limit'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nvidia-smi-'))
  dirs.push(dir)
  return dir
}

function writeScript(dir: string, name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

/** A fake nvidia-smi that records its arguments, prints a fixture and exits with the given status. */
function fakeNvidiaSmi(fixture: string, exitCode = 0) {
  const dir = tempDir()
  const argsFile = join(dir, 'args')
  const binary = writeScript(dir, 'nvidia-smi', `printf '%s\\n' "$@" > '${argsFile}'\ncat '${join(FIXTURES, fixture)}'\nexit ${exitCode}`)
  return { dir, binary, args: () => readFileSync(argsFile, 'utf8').trim().split('\n') }
}

function recordingLogger() {
  const calls: { level: string; msg: string; fields?: Record<string, unknown> }[] = []
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void calls.push({ level, msg, fields })
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { log, calls }
}

async function setupProbe(input: Record<string, unknown>) {
  const { log, calls } = recordingLogger()
  const probe = await nvidiaSmiProbe.setup({
    name: 'nvidia-smi-probe',
    options: v.parse(nvidiaSmiProbe.options, input),
    signal: new AbortController().signal,
    log,
    gateway: { backends: [] },
    baseDir: process.cwd(), keep: keepNothing,
  })
  return { probe, calls, warnings: () => calls.filter((c) => c.level === 'warn') }
}

describe('nvidia-smi-probe', () => {
  test('reports an idle H100 run by absolute path, with the documented query flags', async () => {
    const fake = fakeNvidiaSmi('h100-idle.csv')
    const { probe } = await setupProbe({ binary: fake.binary })
    expect(await probe.check(AbortSignal.timeout(2_000))).toEqual({
      gpus: [{
        index: 0,
        uuid: 'GPU-5c3e7d1a-9f0b-4a6e-8c2d-1b7f3e9a4d60',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMiB: 81559,
        memoryUsedMiB: 0,
        memoryFreeMiB: 80994,
        utilization: 0,
        temperature: 31,
        powerDrawW: 69.83,
        powerLimitW: 700,
      }],
    })
    expect(fake.args()).toEqual([QUERY, '--format=csv,noheader,nounits'])
  })

  test('finds nvidia-smi on the PATH given in env and reports every GPU', async () => {
    const fake = fakeNvidiaSmi('two-gpus-one-busy.csv')
    const { probe } = await setupProbe({ env: { PATH: `${fake.dir}:${process.env.PATH ?? ''}` } })
    const report = await probe.check(AbortSignal.timeout(2_000))
    expect(report.gpus?.map((g) => [g.index, g.memoryUsedMiB, g.utilization])).toEqual([[0, 61234, 97], [1, 4, 0]])
    expect(report.gpus?.[1]).toMatchObject({ name: 'NVIDIA A100-SXM4-80GB', memoryFreeMiB: 81282, powerLimitW: 400 })
  })

  test('leaves [N/A] and [Not Supported] fields out instead of reading them as 0', async () => {
    const fake = fakeNvidiaSmi('consumer-na.csv')
    const { probe } = await setupProbe({ binary: fake.binary })
    const gpus = (await probe.check(AbortSignal.timeout(2_000))).gpus
    expect(gpus?.[0]).toEqual({
      index: 0,
      uuid: 'GPU-3b7c2a91-0d4e-4f58-9a6b-7c8d9e0f1a2b',
      name: 'NVIDIA GeForce RTX 3060 Laptop GPU',
      memoryTotalMiB: 6144,
      memoryUsedMiB: 1123,
      memoryFreeMiB: 4890,
      utilization: 12,
      temperature: 52,
    })
    expect(gpus?.[1]).toEqual({
      index: 1,
      uuid: 'GPU-7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918',
      name: 'GeForce GTX 1050 Ti',
      memoryTotalMiB: 4096,
      memoryUsedMiB: 3,
      memoryFreeMiB: 4093,
      temperature: 38,
    })
  })

  test('reports utilization as unknown for a GPU in MIG mode', async () => {
    const fake = fakeNvidiaSmi('h100-mig.csv')
    const { probe } = await setupProbe({ binary: fake.binary })
    const gpu = (await probe.check(AbortSignal.timeout(2_000))).gpus?.[0]
    expect(gpu).toMatchObject({ memoryUsedMiB: 11125, powerDrawW: 433.78 })
    expect(gpu?.utilization).toBeUndefined()
  })

  test('runs a remote command prefix with the query flags appended', async () => {
    const fake = fakeNvidiaSmi('h100-idle.csv')
    // A stand-in for ssh: drops the host and runs the rest locally.
    writeScript(fake.dir, 'ssh', 'shift\nexec "$@"')
    const { probe } = await setupProbe({
      command: ['ssh', 'gpu-host', 'nvidia-smi'],
      env: { PATH: `${fake.dir}:${process.env.PATH ?? ''}` },
    })
    expect((await probe.check(AbortSignal.timeout(2_000))).gpus).toHaveLength(1)
    expect(fake.args()).toEqual([QUERY, '--format=csv,noheader,nounits'])
  })

  test('reports exit code 9 as the driver not being loaded, warning once per change', async () => {
    const fake = fakeNvidiaSmi('driver-not-loaded.txt', 9)
    const { probe, warnings } = await setupProbe({ binary: fake.binary })
    const report = await probe.check(AbortSignal.timeout(2_000))
    expect(report.gpus).toBeUndefined()
    expect(report.unavailable).toContain('exited with code 9: NVIDIA driver not loaded')
    expect(report.unavailable).toContain("couldn't communicate with the NVIDIA driver")
    await probe.check(AbortSignal.timeout(2_000))
    expect(warnings()).toHaveLength(1)
  })

  test('reports a missing binary as unavailable and warns exactly once over several checks', async () => {
    const { probe, warnings } = await setupProbe({ binary: join(tempDir(), 'nvidia-smi') })
    for (let i = 0; i < 3; i++) {
      expect(await probe.check(AbortSignal.timeout(2_000))).toEqual({ unavailable: 'nvidia-smi not found' })
    }
    expect(warnings()).toHaveLength(1)
  })

  test('reports nvidia-smi absent from PATH as unavailable, warning once', async () => {
    const { probe, warnings } = await setupProbe({ env: { PATH: tempDir() } })
    for (let i = 0; i < 3; i++) {
      expect(await probe.check(AbortSignal.timeout(2_000))).toEqual({ unavailable: 'nvidia-smi not found' })
    }
    expect(warnings()).toHaveLength(1)
  })

  test('gives up on a hung nvidia-smi when the signal fires', async () => {
    const dir = tempDir()
    const binary = writeScript(dir, 'nvidia-smi', 'sleep 3')
    const { probe } = await setupProbe({ binary, timeoutMs: 60_000 })
    const report = await probe.check(AbortSignal.timeout(150))
    expect(report).toEqual({ unavailable: `${binary} timed out` })
  })

  test('applies its own timeoutMs to a hung nvidia-smi', async () => {
    const dir = tempDir()
    const binary = writeScript(dir, 'nvidia-smi', 'sleep 3')
    const { probe } = await setupProbe({ binary, timeoutMs: 150 })
    expect((await probe.check(new AbortController().signal)).unavailable).toContain('timed out')
  })

  test('rejects an empty command prefix', () => {
    expect(() => v.parse(nvidiaSmiProbe.options, { command: [] })).toThrow()
  })
})
