/** deploy/grafana: the dashboard uses the provisioned Prometheus datasource, lays its panels out without overlap, and provisioning finds the file compose mounts. */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

const DEPLOY = resolve(import.meta.dir, '../../deploy')
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8')

interface GridPos {
  x: number
  y: number
  w: number
  h: number
}

interface QueryPanel {
  id: number
  type: string
  title: string
  gridPos: GridPos
  datasource: { type: string; uid: string }
  targets: { refId: string; expr: string; datasource: { uid: string } }[]
}

/** A row only groups the panels below it: no datasource, no queries. */
interface RowPanel {
  id: number
  type: 'row'
  title: string
  gridPos: GridPos
  collapsed: boolean
  panels: unknown[]
}

type Panel = QueryPanel | RowPanel
const isRow = (p: Panel): p is RowPanel => p.type === 'row'
const isQuery = (p: Panel): p is QueryPanel => p.type !== 'row'

const readDashboard = () => JSON.parse(read('grafana/switchyard.json')) as { uid: string; panels: Panel[] }

const overlaps = (a: GridPos, b: GridPos) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h

test('every panel queries the provisioned Prometheus, and Grafana loads the dashboard from where compose mounts it', () => {
  const dashboard = readDashboard()
  const { datasources } = parse(read('grafana/provisioning/datasources/switchyard.yaml')) as { datasources: { uid: string; type: string; url: string }[] }
  const prometheus = datasources.find((d) => d.type === 'prometheus')!
  expect(prometheus.url).toBe('http://prometheus:9090')
  expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length)
  for (const panel of dashboard.panels.filter(isQuery)) {
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

test('panels fit the 24-column grid, none overlaps another, and an expanded row sits above its panels', () => {
  const { panels } = readDashboard()
  const fits = ({ x, y, w, h }: GridPos) => [x, y, w, h].every(Number.isInteger) && x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24
  expect(panels.filter((p) => !fits(p.gridPos)).map((p) => `${p.title}: ${JSON.stringify(p.gridPos)}`)).toEqual([])
  const clashes = panels.flatMap((a, i) => panels.slice(i + 1).filter((b) => overlaps(a.gridPos, b.gridPos)).map((b) => `${a.title} / ${b.title}`))
  expect(clashes).toEqual([])
  // Grafana files an expanded row's panels after it in `panels`, in layout order.
  const rows = panels.filter(isRow)
  expect(rows.map((r) => r.title)).toContain('Escalation and savings')
  for (const row of rows) {
    expect(`${row.title}: ${row.gridPos.w}x${row.gridPos.h} at x ${row.gridPos.x}, collapsed ${row.collapsed}, ${row.panels.length} nested`).toBe(`${row.title}: 24x1 at x 0, collapsed false, 0 nested`)
    const before = panels.slice(0, panels.indexOf(row))
    const after = panels.slice(panels.indexOf(row) + 1)
    expect(before.filter((p) => p.gridPos.y > row.gridPos.y).map((p) => p.title)).toEqual([])
    expect(after.filter((p) => p.gridPos.y < row.gridPos.y).map((p) => p.title)).toEqual([])
  }
})
