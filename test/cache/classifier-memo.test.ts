import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { post } from './http.ts'

/** A custom classifier in a temp file that appends one line to `countFile` per call. */
function writeCountingClassifier(dir: string): string {
  const valibot = Bun.resolveSync('valibot', import.meta.dir)
  const path = join(dir, 'counting-classifier.ts')
  writeFileSync(path, `
import * as v from ${JSON.stringify(valibot)}
import { appendFileSync } from 'node:fs'
export default {
  name: 'counting-classifier',
  kind: 'classifier',
  options: v.strictObject({ countFile: v.string() }),
  setup: ({ options }) => ({
    classify() {
      appendFileSync(options.countFile, 'call\\n')
      return { label: 'SIMPLE', confidence: 0.9, scores: { SIMPLE: 0.9, MODERATE: 0.05, COMPLEX: 0.05 }, reasons: ['counted'] }
    },
  }),
}
`)
  return path
}

describe('classification memo', () => {
  test('a repeated auto prompt is classified once; a new prompt is classified again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-classifier-'))
    try {
      const countFile = join(dir, 'calls.txt')
      writeFileSync(countFile, '')
      await using sim = startSimulator({ instant: true })
      await using gw = await startGateway({
        backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
        routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
        plugins: [{ use: writeCountingClassifier(dir), options: { countFile } }, ...fastProbes],
      })
      const calls = () => readFileSync(countFile, 'utf8').split('\n').filter(Boolean).length
      // No cache plugin and a default temperature: every request reaches the classify stage.
      const body = (content: string) => ({ model: 'auto', stream: false, messages: [{ role: 'user', content }] })
      for (let i = 0; i < 3; i++) {
        const answer = await post(`${gw.url}/api/chat`, body('add a docstring'))
        expect(answer.status).toBe(200)
        expect(answer.headers.get('x-switchyard-class')).toBe('SIMPLE')
      }
      expect(calls()).toBe(1)
      expect(sim.stats().requests).toBe(3)
      await post(`${gw.url}/api/chat`, body('something else'))
      expect(calls()).toBe(2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
