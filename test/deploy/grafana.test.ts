/** deploy/grafana: the dashboard uses the provisioned Prometheus datasource, and provisioning finds the file compose mounts. */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

const DEPLOY = resolve(import.meta.dir, '../../deploy')
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8')

interface Panel {
  id: number
  title: string
  datasource: { type: string; uid: string }
  targets: { refId: string; expr: string; datasource: { uid: string } }[]
}

test('every panel queries the provisioned Prometheus, and Grafana loads the dashboard from where compose mounts it', () => {
  const dashboard = JSON.parse(read('grafana/switchyard.json')) as { uid: string; panels: Panel[] }
  const { datasources } = parse(read('grafana/provisioning/datasources/switchyard.yaml')) as { datasources: { uid: string; type: string; url: string }[] }
  const prometheus = datasources.find((d) => d.type === 'prometheus')!
  expect(prometheus.url).toBe('http://prometheus:9090')
  expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length)
  for (const panel of dashboard.panels) {
    expect(`${panel.title}: ${panel.datasource.uid}`).toBe(`${panel.title}: ${prometheus.uid}`)
    expect(panel.targets.length).toBeGreaterThan(0)
    for (const t of panel.targets) expect(`${panel.title} ${t.refId}: ${t.datasource.uid}`).toBe(`${panel.title} ${t.refId}: ${prometheus.uid}`)
  }
  const { providers } = parse(read('grafana/provisioning/dashboards/switchyard.yaml')) as { providers: { options: { path: string } }[] }
  const compose = parse(read('compose.yaml')) as { services: { grafana: { volumes: string[] } } }
  const mounted = compose.services.grafana.volumes.find((v) => v.startsWith('./grafana/switchyard.json:'))!.split(':')[1]!
  expect(mounted).toBe(`${providers[0]!.options.path}/switchyard.json`)
  expect(compose.services.grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro')
})
