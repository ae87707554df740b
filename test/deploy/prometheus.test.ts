/** deploy/prometheus: the config and rules pass promtool, and every alert has unit tests where it fires and where it does not. */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

const DIR = resolve(import.meta.dir, '../../deploy/prometheus')

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  const binary = Bun.which('promtool')
  if (!binary) throw new Error('promtool not found on PATH: install the Debian/Ubuntu package "prometheus" (apt-get install -y prometheus); scripts/ensure-test-deps.sh does this')
  const proc = Bun.spawn([binary, ...args], { cwd: DIR, stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, output: out + err }
}

interface RuleFile {
  groups: { rules: { alert?: string; expr: string }[] }[]
}
interface RuleTests {
  rule_files: string[]
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[]
}

describe('deploy/prometheus', () => {
  test('prometheus.yml and the rules it loads pass promtool check config', async () => {
    const result = await promtool('check', 'config', 'prometheus.yml')
    expect(result.output).toContain('SUCCESS')
    expect(result.code).toBe(0)
  })

  test('rules.yaml passes promtool check rules', async () => {
    const result = await promtool('check', 'rules', 'rules.yaml')
    expect(result.output).toContain('SUCCESS')
    expect(result.code).toBe(0)
  })

  test('the alert unit tests in rules.test.yaml pass', async () => {
    const result = await promtool('test', 'rules', 'rules.test.yaml')
    expect(result.output).toContain('SUCCESS')
    expect(result.code).toBe(0)
  })

  test('every alert has a unit test where it fires and one where it stays quiet', () => {
    const rules = parse(readFileSync(join(DIR, 'rules.yaml'), 'utf8')) as RuleFile
    const tests = parse(readFileSync(join(DIR, 'rules.test.yaml'), 'utf8')) as RuleTests
    expect(tests.rule_files).toEqual(['rules.yaml'])
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])))
    expect(alerts).toContain('SwitchyardSharedStateLocal')
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? [])
    const firing = new Set(cases.filter((c) => (c.exp_alerts?.length ?? 0) > 0).map((c) => c.alertname))
    const quiet = new Set(cases.filter((c) => (c.exp_alerts?.length ?? 0) === 0).map((c) => c.alertname))
    expect(alerts.filter((a) => !firing.has(a))).toEqual([])
    expect(alerts.filter((a) => !quiet.has(a))).toEqual([])
  })
})
