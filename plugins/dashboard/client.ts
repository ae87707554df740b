/** The dashboard's browser script, first part of `/dashboard/app.js`: SSE feed, /health tiles, explain box. */

// Plain ES2020 for any current browser; data goes into the DOM as text only (never innerHTML).
// FEEDBACK_JS, HISTORY_JS, SAVINGS_JS and TEAMS_JS follow it in the same script: idCell(), feedbackCell(), errorMessage(),
// renderClassifier(), renderRouteOptions(), setupHistory(), modelCell(), renderSavings(), clientCell(), renderTeams().
export const CLIENT_JS = String.raw`'use strict'
const MAX_ROWS = 100
const SVG = 'http://www.w3.org/2000/svg'
const $ = (id) => document.getElementById(id)

function h(tag, props, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'title') el.title = v
    else if (k.startsWith('data-')) el.setAttribute(k, v)
    else el[k] = v
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c))
  return el
}

const fmtMs = (ms) => (ms === null || ms === undefined ? '–' : ms < 10 ? ms.toFixed(1) + ' ms' : ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s')
const fmtPct = (x) => (x === null || x === undefined ? '–' : Math.round(x * 100) + '%')
const fmtNum = (x, d) => (x === null || x === undefined ? '–' : x.toFixed(d || 0))
const fmtTokens = (input, output) => (output === null || output === undefined ? '–' : (input === null || input === undefined ? '' : input + '→') + output)
const fmtTime = (t) => new Date(t).toLocaleTimeString([], { hour12: false })
const classBadge = (label, confidence) =>
  label ? h('span', { class: 'cls cls-' + label }, label, confidence === null || confidence === undefined ? '' : ' ' + confidence.toFixed(2)) : h('span', { class: 'muted' }, 'named')

function sparkline(values, kind) {
  const w = 90, ht = 20
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('class', 'spark' + (kind ? ' ' + kind : ''))
  svg.setAttribute('width', w)
  svg.setAttribute('height', ht)
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + ht)
  const present = values.filter((v) => v !== null)
  const max = Math.max(1, ...present)
  const pad = 3
  const step = values.length > 1 ? (w - 2 * pad) / (values.length - 1) : 0
  const points = []
  values.forEach((v, i) => { if (v !== null) points.push((pad + i * step).toFixed(1) + ',' + (ht - pad - (v / max) * (ht - 2 * pad)).toFixed(1)) })
  const line = document.createElementNS(SVG, 'polyline')
  line.setAttribute('points', points.join(' '))
  svg.append(line)
  // A dot on the newest point, so a single sample is visible too.
  const last = points[points.length - 1]
  if (last) {
    const dot = document.createElementNS(SVG, 'circle')
    const [x, y] = last.split(',')
    dot.setAttribute('cx', x)
    dot.setAttribute('cy', y)
    dot.setAttribute('r', '2')
    svg.append(dot)
  }
  return svg
}

function bar(fraction, hot) {
  const inner = h('span')
  inner.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + '%'
  return h('div', { class: hot ? 'bar hot' : 'bar' }, inner)
}

// Live feed
function feedRow(d, fresh) {
  const failed = d.error !== null || (d.status !== null && d.status >= 400)
  return h('tr', { 'data-id': d.id, class: [fresh ? 'fresh' : '', failed ? 'failed' : ''].join(' ').trim() || null },
    h('td', {}, fmtTime(d.timeMs)),
    idCell(d.id),
    clientCell(d.client, d.team),
    h('td', {}, d.route || h('span', { class: 'muted' }, d.requested || '–')),
    h('td', {}, classBadge(d.class, d.confidence)),
    modelCell(d),
    h('td', { class: 'backend' }, d.backend || '–'),
    h('td', {}, d.cache || '–'),
    h('td', { class: 'num' }, fmtMs(d.ttftMs)),
    h('td', { class: 'num' }, fmtMs(d.durationMs)),
    h('td', { class: 'num' }, fmtTokens(d.inputTokens, d.outputTokens)),
    feedbackCell(d.id, d.class, null),
    h('td', { class: 'reasons' }, d.reasons.join('; ')))
}

function renderFeed(decisions) {
  const body = $('feed').tBodies[0]
  body.replaceChildren(...decisions.slice(0, MAX_ROWS).map((d) => feedRow(d, false)))
  if (decisions.length === 0) body.append(h('tr', { class: 'empty' }, h('td', { colSpan: 13, class: 'muted' }, 'no requests yet: send one to this gateway')))
}

function addDecision(d) {
  const body = $('feed').tBodies[0]
  body.querySelector('tr.empty')?.remove()
  body.prepend(feedRow(d, true))
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1)
}

// Aggregates
function renderStats(s) {
  $('totals').textContent = s.totals.requests + ' requests · ' + s.totals.errors + ' errors · ' + s.totals.cacheHits + ' cache hits'
  $('window').textContent = '(last ' + Math.round(s.windowMs / 60000) + ' min)'
  renderAggregate($('models'), s.models, 'model', false)
  renderAggregate($('classes'), s.classes, 'class', true)
  renderTeams(s.teams)
  renderSavings(s.savings)
}

function renderAggregate(table, rows, label, classes) {
  const head = h('tr', {}, ['', 'req/min', 'share', 'p50', 'p95', 'TTFT p50', 'TTFT p95', 'tok/s', 'cache', 'requests', 'latency']
    .map((t, i) => h('th', { class: i > 0 && i < 9 ? 'num' : null }, i === 0 ? label : t)))
  const body = rows.length === 0
    ? [h('tr', {}, h('td', { colSpan: 11, class: 'muted' }, 'no traffic in this window'))]
    : rows.map((r) => h('tr', { 'data-key': r.key },
        h('td', {}, classes ? classBadge(r.key === 'named' ? null : r.key, null) : r.key),
        h('td', { class: 'num' }, fmtNum(r.ratePerMin, 1)),
        h('td', { class: 'num' }, h('span', { class: 'share' }, bar(r.share, false)), fmtPct(r.share)),
        h('td', { class: 'num' }, fmtMs(r.latencyP50Ms)),
        h('td', { class: 'num' }, fmtMs(r.latencyP95Ms)),
        h('td', { class: 'num' }, fmtMs(r.ttftP50Ms)),
        h('td', { class: 'num' }, fmtMs(r.ttftP95Ms)),
        h('td', { class: 'num' }, fmtNum(r.tokensPerSec, r.tokensPerSec >= 100 ? 0 : 1)),
        h('td', { class: 'num' }, fmtPct(r.cacheHitRate)),
        h('td', { title: r.totalRequests + ' since start' }, sparkline(r.seriesRequests, '')),
        h('td', {}, sparkline(r.seriesLatencyMs, 'lat'))))
  table.replaceChildren(h('thead', {}, head), h('tbody', {}, body))
}

// Backends and GPUs from /health
function renderHealth(health) {
  const backends = (health.backends || []).map((b) => {
    const state = !b.up ? 'down' : b.circuit === 'open' ? 'warn' : 'up'
    return h('div', { class: 'tile', 'data-backend': b.name },
      h('h3', {}, b.name, h('span', { class: 'badge ' + state }, b.up ? 'up' : 'down'), h('span', { class: 'muted' }, b.kind)),
      h('dl', {},
        h('dt', {}, 'circuit'), h('dd', {}, b.circuit),
        h('dt', {}, 'latency'), h('dd', {}, fmtMs(b.latencyMs)),
        h('dt', {}, 'in flight'), h('dd', {}, b.inFlight),
        h('dt', {}, 'loaded'), h('dd', {}, b.loaded.length ? b.loaded.join(', ') : h('span', { class: 'muted' }, 'none')),
        h('dt', {}, 'models'), h('dd', { title: b.models.join(', ') }, b.models.length + (b.models.length ? ': ' + b.models.join(', ') : '')),
        b.error ? [h('dt', {}, 'error'), h('dd', { class: 'muted' }, b.error)] : null))
  })
  const hidden = !('backends' in health) && h('p', { class: 'muted' }, 'backend details need the admin key (issue 8); status: ' + health.status)
  $('backends').replaceChildren(...(backends.length ? backends : [hidden || h('p', { class: 'muted' }, 'no backends configured')]))
  const gpus = (health.gpus || []).map((g) => {
    const mem = g.memoryTotalMiB ? g.memoryUsedMiB / g.memoryTotalMiB : null
    return h('div', { class: 'tile', 'data-gpu': g.index },
      h('h3', {}, 'GPU ' + g.index, h('span', { class: 'muted' }, g.name || '')),
      h('dl', {},
        h('dt', {}, 'VRAM'), h('dd', {}, mem === null ? '–' : [fmtNum(g.memoryUsedMiB / 1024, 1) + ' / ' + fmtNum(g.memoryTotalMiB / 1024, 1) + ' GiB', bar(mem, mem > 0.9)]),
        h('dt', {}, 'utilization'), h('dd', {}, g.utilization === null ? '–' : [g.utilization + '%', bar(g.utilization / 100, g.utilization > 90)]),
        h('dt', {}, 'temperature'), h('dd', {}, g.temperature === null ? '–' : g.temperature + ' °C'),
        h('dt', {}, 'backends'), h('dd', {}, g.backends.join(', ') || '–')))
  })
  $('gpus').replaceChildren(...(gpus.length ? gpus : [h('p', { class: 'muted' }, 'no GPU reported (enable the nvidia-smi-probe plugin on a machine with an NVIDIA GPU)')]))
  renderClassifier(health.classifier)
  renderRouteOptions(Object.keys(health.routes || {}))
}

let healthTimer
async function pollHealth(intervalMs) {
  clearTimeout(healthTimer)
  try {
    const res = await fetch('/health', { cache: 'no-store' })
    renderHealth(await res.json())
  } catch (error) {
    $('backends').replaceChildren(h('p', { class: 'muted' }, 'cannot reach /health: ' + error))
  }
  healthTimer = setTimeout(() => pollHealth(intervalMs), intervalMs)
}

// Explain box
async function explain(event) {
  event.preventDefault()
  const out = $('explain-result')
  out.hidden = false
  out.className = ''
  out.replaceChildren(h('span', { class: 'muted' }, 'classifying…'))
  const body = { model: $('explain-model').value || 'auto', messages: [{ role: 'user', content: $('explain-prompt').value }] }
  try {
    const res = await fetch('/router/explain', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const r = await res.json()
    if (!res.ok) throw new Error(errorMessage(res, r))
    out.replaceChildren(
      h('div', { class: 'headline' }, r.class ? classBadge(r.class, r.confidence) : 'named model', ' → ',
        h('strong', { class: 'model' }, r.model || 'no model'), r.backend ? ' on ' : '', r.backend ? h('strong', { class: 'backend' }, r.backend) : ''),
      h('div', { class: 'muted' }, 'route ' + (r.route || '–') + ' · classifier ' + (r.classifier || '–') + ' · candidates ' + (r.candidates.join(', ') || '–') +
        (r.fallbacks.length ? ' · fallbacks ' + r.fallbacks.map((f) => f.model + '@' + f.backend).join(', ') : '')),
      h('ul', {}, r.reasons.map((reason) => h('li', {}, reason))))
  } catch (error) {
    out.className = 'error'
    out.replaceChildren(String(error.message || error))
  }
}

// With an admin key configured, data endpoints answer 401: ask for the key once and keep it in a same-site cookie.
async function ensureAdminKey() {
  const res = await fetch('/dashboard/state', { cache: 'no-store' })
  if (res.status !== 401) return
  const key = window.prompt('This gateway needs its admin key to show the dashboard:')
  if (!key) return
  document.cookie = 'switchyard_admin=' + encodeURIComponent(key) + '; path=/; SameSite=Strict'
}

async function connect() {
  await ensureAdminKey()
  const conn = $('conn')
  const source = new EventSource('/dashboard/events')
  let healthStarted = false
  source.addEventListener('snapshot', (e) => {
    const s = JSON.parse(e.data)
    renderFeed(s.decisions)
    renderStats(s)
    if (!healthStarted) { healthStarted = true; pollHealth(s.healthIntervalMs) }
  })
  source.addEventListener('stats', (e) => renderStats(JSON.parse(e.data)))
  source.addEventListener('decision', (e) => addDecision(JSON.parse(e.data)))
  source.onopen = () => { conn.dataset.state = 'live'; conn.textContent = 'live' }
  source.onerror = () => { conn.dataset.state = 'reconnecting'; conn.textContent = 'reconnecting' }
}

document.addEventListener('DOMContentLoaded', () => {
  $('explain').addEventListener('submit', explain)
  setupHistory(connect())
})
`
