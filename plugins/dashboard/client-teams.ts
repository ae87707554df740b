/** The browser script's per-team panel and the client cell (key name and team badge) of the feed and History rows. */

// Appended last to `/dashboard/app.js`: it uses CLIENT_JS's h(), fmtMs(), fmtNum(), fmtPct(), bar() and SAVINGS_JS's fmtGpu();
// CLIENT_JS calls renderTeams() and clientCell(), HISTORY_JS calls clientCell().
export const TEAMS_JS = String.raw`
const fmtCount = (n) => (n < 10000 ? String(n) : n < 1e6 ? (n / 1000).toFixed(1) + 'k' : (n / 1e6).toFixed(2) + 'M')

/** The client key's name with its team as a badge; '–' without auth. */
function clientCell(client, team) {
  return h('td', { class: 'client' }, client || (team ? '' : '–'), team ? h('span', { class: 'badge team', title: 'team ' + team }, team) : null)
}

// Sums shown for the window, with the figure since start on hover; show() formats either (a row, or its sinceStart).
const TEAM_COLUMNS = [
  { label: 'errors', show: (f) => fmtCount(f.errors) },
  { label: 'tokens in', show: (f) => fmtCount(f.inputTokens) },
  { label: 'tokens out', show: (f) => fmtCount(f.outputTokens) },
  { label: 'GPU time', show: (f) => fmtGpu(f.gpuSeconds) },
  { label: 'GPU saved (net)', show: (f) => fmtGpu(f.gpuSecondsSaved) },
  { label: 'escalations', show: (f) => fmtCount(f.escalations) },
]

function renderTeams(rows) {
  const table = $('teams')
  if (!table || !rows) return
  const labels = ['team', 'requests', 'since start', 'req/min', 'share', 'p50', 'p95', ...TEAM_COLUMNS.map((c) => c.label)]
  const head = h('tr', {}, labels.map((t, i) => h('th', { class: i > 0 ? 'num' : null, title: i > 6 ? 'in the window; hover a cell for since start' : null }, t)))
  const body = rows.length === 0
    ? [h('tr', {}, h('td', { colSpan: labels.length, class: 'muted' }, 'no requests yet'))]
    : rows.map((r) => h('tr', { 'data-key': r.key },
        h('td', {}, r.key === 'none' ? h('span', { class: 'muted', title: 'requests whose client key is in no team, or that came without a key' }, 'none') : h('span', { class: 'badge team' }, r.key)),
        h('td', { class: 'num' }, fmtCount(r.requests)),
        h('td', { class: 'num' }, fmtCount(r.totalRequests)),
        h('td', { class: 'num' }, fmtNum(r.ratePerMin, 1)),
        h('td', { class: 'num' }, h('span', { class: 'share' }, bar(r.share, false)), fmtPct(r.share)),
        h('td', { class: 'num' }, fmtMs(r.latencyP50Ms)),
        h('td', { class: 'num' }, fmtMs(r.latencyP95Ms)),
        TEAM_COLUMNS.map((c) => h('td', { class: 'num', title: c.show(r.sinceStart) + ' since start' }, c.show(r)))))
  table.replaceChildren(h('thead', {}, head), h('tbody', {}, body))
}
`
