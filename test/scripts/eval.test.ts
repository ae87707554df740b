/** scripts/eval.ts and train.ts: report shape of --json (ECE included), predictions file, grouped folds with --extra, and the --config contract. */
import { describe, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROWS = [
  ['What is a list?', 'SIMPLE', 'qa'], ['How do I print in Python?', 'SIMPLE', 'qa'], ['What does len do?', 'SIMPLE', 'qa'],
  ['Write a function that reverses a string and returns it.', 'MODERATE', 'spec'],
  ['Implement a function that merges two sorted lists into one sorted list.', 'MODERATE', 'spec'],
  ['Write a program that counts the words in a text file and prints the top ten.', 'MODERATE', 'spec'],
  ['Design a distributed cache with replication, eviction and failover; it must handle 10^6 requests per second without data loss.', 'COMPLEX', 'design'],
  ['Refactor this service into modules, optimize the hot path from O(n^2) to O(n log n), and explain the architecture.', 'COMPLEX', 'design'],
  ['Implement a class for a bank account system with transfers, interest, audit logs and concurrency control.', 'COMPLEX', 'design'],
] as const

async function withData(run: (dir: string, data: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'eval-'))
  try {
    const data = join(dir, 'data.jsonl')
    const lines = [...ROWS, ...ROWS].map(([prompt, label, source], i) => JSON.stringify({ id: `r${i}`, prompt: `${prompt} (${i})`, label, source, license: 'MIT' }))
    await Bun.write(data, lines.join('\n'))
    await run(dir, data)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const runEval = (args: string[]) => {
  const proc = Bun.spawnSync([process.execPath, 'scripts/eval.ts', ...args], { stdout: 'pipe', stderr: 'pipe' })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>

describe('scripts/eval.ts', () => {
  test('--json ends with one object carrying every report key, and --predictions writes one line per row', async () => {
    await withData(async (dir, data) => {
      const predictions = join(dir, 'pred.jsonl')
      const out = runEval(['--data', data, '--classifier', 'keyword-classifier', '--options', '{"default":"SIMPLE"}', '--json', '--predictions', predictions])
      expect(out.code).toBe(0)
      expect(out.stdout).toContain('macro-F1')
      const report = lastJson(out.stdout)
      for (const key of ['accuracy', 'macro_f1', 'per_class', 'per_source', 'confusion', 'routed_share', 'latency_us', 'n']) expect(report).toHaveProperty(key)
      expect(report.n).toBe(18)
      expect(Object.keys(report.per_source as object).sort()).toEqual(['design', 'qa', 'spec'])
      expect(Object.keys(report.latency_us as object).sort()).toEqual(['p50', 'p99'])
      const share = report.routed_share as Record<string, number>
      expect(share.SIMPLE! + share.MODERATE! + share.COMPLEX!).toBeCloseTo(1, 3)
      const lines = (await Bun.file(predictions).text()).trim().split('\n').map((l) => JSON.parse(l))
      expect(lines).toHaveLength(18)
      expect(Object.keys(lines[0]).sort()).toEqual(['confidence', 'id', 'label', 'predicted'])
    })
  })

  test('--folds cross-validates the learned classifier and adds leave-one-source-out results', async () => {
    await withData(async (_, data) => {
      const out = runEval(['--data', data, '--folds', '3', '--json'])
      expect(out.code).toBe(0)
      const report = lastJson(out.stdout)
      expect(report.folds).toBe(3)
      expect(report.n).toBe(18)
      expect(report).toHaveProperty('leave_one_source_out.per_source.qa')
      expect(report).toHaveProperty('ece.raw')
      expect(report).toHaveProperty('ece.calibrated')
    })
  })

  test('--extra rows join every training fold but are never scored, and need --folds', async () => {
    await withData(async (dir, data) => {
      const extra = join(dir, 'extra.jsonl')
      const rows = Array.from({ length: 6 }, (_, i) => ({ id: `x${i}`, prompt: `design a sharded service ${i}`, label: 'COMPLEX', source: 'extra', license: 'MIT' }))
      await Bun.write(extra, rows.map((r) => JSON.stringify(r)).join('\n'))
      const out = runEval(['--data', data, '--folds', '3', '--extra', `${extra},${extra}`, '--json'])
      expect(out.code).toBe(0)
      const report = lastJson(out.stdout)
      expect(report.n).toBe(18)
      expect(report.extra_training_rows).toBe(12)
      expect(Object.keys(report.per_source as object)).not.toContain('extra')
      const bad = runEval(['--data', data, '--extra', extra])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain('--extra adds training rows: it needs --folds')
      const weights = join(dir, 'w.json')
      const train = Bun.spawnSync([process.execPath, 'scripts/train.ts', '--data', data, '--extra', extra, '--extra', extra, '--out', weights], { stdout: 'pipe', stderr: 'pipe' })
      expect(train.exitCode).toBe(0)
      expect(train.stdout.toString()).toContain('trained on 30 rows')
      const meta = (await Bun.file(weights).json()).meta as { trainedOn: { rows: number; extra: string[]; sources: string[] } }
      expect(meta.trainedOn).toMatchObject({ rows: 30, extra: ['extra.jsonl', 'extra.jsonl'] })
      expect(meta.trainedOn.sources).toContain('extra')
    })
  })

  test('--config evaluates the first classifier plugin of a gateway config with its options', async () => {
    await withData(async (dir, data) => {
      const config = join(dir, 'switchyard.config.json')
      await Bun.write(config, JSON.stringify({
        backends: [{ name: 'local', kind: 'ollama', url: 'http://127.0.0.1:11434' }],
        plugins: [{ use: 'keyword-classifier', options: { default: 'COMPLEX', rules: { SIMPLE: [], MODERATE: [], COMPLEX: [] } } }],
      }))
      const out = runEval(['--data', data, '--config', config, '--json'])
      expect(out.code).toBe(0)
      const report = lastJson(out.stdout)
      expect(report.classifier).toBe('keyword-classifier')
      expect(report.routed_share).toEqual({ SIMPLE: 0, MODERATE: 0, COMPLEX: 1 })
    })
  })

  test('unknown classifiers and bad options fail with exit code 1 and a message', async () => {
    await withData(async (_, data) => {
      const out = runEval(['--data', data, '--classifier', 'nope-classifier'])
      expect(out.code).toBe(1)
      expect(out.stderr).toContain('unknown classifier "nope-classifier"')
    })
  })
})
