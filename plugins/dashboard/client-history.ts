/** The browser script's History tab: `/router/history` with filters, as a table; the classifier in use from `/health`. */

// Appended to CLIENT_JS and FEEDBACK_JS in one `/dashboard/app.js`; CLIENT_JS calls setupHistory(), renderClassifier() and renderRouteOptions().
export const HISTORY_JS = String.raw`
const MAX_HISTORY = 1000
const fmtDateTime = (t) => new Date(t).toLocaleString([], { hour12: false, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
let classifierNow = null

/** The classifier in use, from /health (absent on gateways that do not report it, or without the admin key). */
function renderClassifier(classifier) {
  classifierNow = classifier || null
  $('classifier').textContent = classifier ? 'classifier ' + classifier.name + (classifier.version ? ' · version ' + classifier.version : '') : ''
}

/** Route names for the filter, from /health; the chosen one stays chosen. */
function renderRouteOptions(names) {
  const select = $('history-route')
  const current = [...select.options].slice(1).map((o) => o.value)
  if (current.join('\n') === names.join('\n')) return
  const chosen = select.value
  select.replaceChildren(h('option', { value: '' }, 'any'), ...names.map((n) => h('option', { value: n }, n)))
  select.value = names.includes(chosen) ? chosen : ''
}

function historyRow(d) {
  const failed = Boolean(d.error) || d.status >= 400
  return h('tr', { 'data-id': d.id, class: failed ? 'failed' : null },
    h('td', {}, fmtDateTime(d.timeMs)),
    idCell(d.id),
    clientCell(d.client, d.team),
    h('td', {}, d.route || h('span', { class: 'muted' }, d.requested || '–')),
    h('td', {}, classBadge(d.label || null, d.confidence), d.forced ? h('span', { class: 'badge forced', title: 'the client set the class (x-switchyard-class)' }, 'forced') : null),
    h('td', { class: 'model' }, d.model || '–'),
    h('td', { class: 'backend' }, d.backend || '–'),
    h('td', { class: 'num', title: d.error || null }, d.status),
    h('td', {}, d.cache || '–'),
    h('td', { class: 'num' }, fmtMs(d.latencyMs)),
    h('td', { class: 'num' }, fmtMs(d.ttftMs)),
    h('td', { class: 'num' }, fmtTokens(d.inputTokens, d.outputTokens)),
    h('td', { class: 'version' }, d.classifierVersion || '–'),
    feedbackCell(d.id, d.label || null, d.feedback || null))
}

function historyMessage(text, error) {
  $('history-table').tBodies[0].replaceChildren(h('tr', { class: 'empty' }, h('td', { colSpan: 14, class: error ? 'error' : 'muted' }, text)))
}

let historySeq = 0
async function loadHistory() {
  const seq = ++historySeq
  const q = new URLSearchParams()
  const route = $('history-route').value
  const label = $('history-class').value
  const sinceMs = $('history-since').value
  if (route) q.set('route', route)
  if (label) q.set('class', label)
  if (sinceMs) q.set('since', String(Date.now() - Number(sinceMs)))
  const limit = Math.min(MAX_HISTORY, Math.max(1, Math.round(Number($('history-limit').value)) || 100))
  $('history-limit').value = limit
  q.set('limit', String(limit))
  const summary = $('history-summary')
  summary.textContent = 'loading…'
  try {
    const res = await fetch('/router/history?' + q, { cache: 'no-store' })
    const body = await res.json().catch(() => null)
    if (!res.ok) throw new Error(errorMessage(res, body))
    if (seq !== historySeq) return
    const decisions = body.decisions || []
    $('history-table').tBodies[0].replaceChildren(...decisions.map(historyRow))
    if (decisions.length === 0) historyMessage('no decisions match these filters', false)
    const versions = new Set(decisions.map((d) => d.classifierVersion).filter(Boolean))
    summary.textContent = decisions.length + ' decision' + (decisions.length === 1 ? '' : 's') + ', newest first' +
      (versions.size ? ' · classifier versions ' + [...versions].join(', ') : '') +
      (classifierNow && classifierNow.version ? ' · in use now ' + classifierNow.version : '')
  } catch (error) {
    if (seq !== historySeq) return
    summary.textContent = ''
    historyMessage('cannot load /router/history: ' + (error.message || error), true)
  }
}

const VIEWS = ['live', 'history']
function showView(name, ready) {
  for (const v of VIEWS) {
    $('view-' + v).hidden = v !== name
    $('tab-' + v).setAttribute('aria-selected', String(v === name))
  }
  if (location.hash !== '#' + name) history.replaceState(null, '', name === 'live' ? location.pathname : '#' + name)
  // The table loads when the tab opens (nothing is fetched for it otherwise), after the admin key is settled.
  if (name === 'history') ready.then(() => loadHistory())
}

function setupHistory(ready) {
  for (const v of VIEWS) $('tab-' + v).addEventListener('click', () => showView(v, ready))
  $('history-filters').addEventListener('submit', (e) => { e.preventDefault(); ready.then(() => loadHistory()) })
  if (location.hash === '#history') showView('history', ready)
}
`
