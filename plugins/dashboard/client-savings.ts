/** The browser script's GPU savings panel and the feed's escalation and audit marks. */

// Appended to CLIENT_JS in one `/dashboard/app.js`: it uses that part's h() and fmtPct(); CLIENT_JS calls modelCell() and renderSavings().
export const SAVINGS_JS = String.raw`
const fmtGpu = (s) => {
  if (s === null || s === undefined) return '–'
  const a = Math.abs(s)
  return a < 1 ? s.toFixed(3) + ' s' : a < 120 ? s.toFixed(2) + ' s' : a < 7200 ? (s / 60).toFixed(1) + ' min' : (s / 3600).toFixed(2) + ' h'
}
const fmtMoney = (x) => (x === null || x === undefined ? '–' : Math.abs(x) < 1 ? x.toFixed(4) : x.toFixed(2))
const fmtRate = (r, n, of) => (r === null ? '–' : fmtPct(r) + ' (' + n + '/' + of + ')')

/** The audit badge: "escalated 0.10" when a larger model answered instead, else "audit pass 0.92". */
function auditBadge(d) {
  const a = d.audit
  if (!a && !d.escalation) return null
  const title = [
    a ? 'audit by ' + a.auditor + ': ' + a.outcome + ', score ' + a.score.toFixed(2) + ' (threshold ' + a.threshold + ')' : 'the draft failed before its audit',
    a && a.reasons.length ? a.reasons.join('; ') : null,
    d.escalation ? 'escalated ' + d.escalation.from + ' -> ' + d.escalation.to + ' (' + d.escalation.mode + ')' : null,
  ].filter(Boolean).join('\n')
  const text = d.escalation ? 'escalated ' + (a ? a.score.toFixed(2) : 'draft failed') : 'audit ' + a.outcome + ' ' + a.score.toFixed(2)
  return h('span', { class: 'badge audit ' + (d.escalation ? 'fail' : a.outcome), title }, text)
}

/** The feed's model cell: "draft → final" for an escalated answer, its audit badge, GPU time on hover. */
function modelCell(d) {
  const gpu = d.gpuSeconds === null || d.gpuSeconds === undefined ? null
    : 'GPU ' + fmtGpu(d.gpuSeconds) + (d.gpuSecondsSaved === null ? '' : ' · saved ' + fmtGpu(d.gpuSecondsSaved) + ' net')
  const e = d.escalation
  return h('td', { class: 'model', title: gpu },
    e ? [h('span', { class: 'draft' }, e.from), ' → '] : null, d.model || '–', ' ', auditBadge(d))
}

// priced: shown only with costPerGpuHour; part: a share of the row above it.
const SAVINGS_ROWS = [
  { key: 'saved', label: 'GPU time saved (net)', show: (f) => fmtGpu(f.gpuSecondsSaved) },
  { key: 'cost-saved', label: 'money saved (net)', show: (f) => fmtMoney(f.costSaved), priced: true },
  { key: 'spent', label: 'GPU time spent', show: (f) => fmtGpu(f.gpuSecondsSpent) },
  { key: 'cost-spent', label: 'money spent', show: (f) => fmtMoney(f.costSpent), priced: true },
  { key: 'wasted', label: 'GPU time wasted', show: (f) => fmtGpu(f.gpuSecondsWasted.total) },
  { key: 'rejected', label: 'rejected drafts', show: (f) => fmtGpu(f.gpuSecondsWasted.rejected), part: true },
  { key: 'cancelled', label: 'cancelled parallel generations', show: (f) => fmtGpu(f.gpuSecondsWasted.cancelled), part: true },
  { key: 'checks', label: 'checks (classifier, judge)', show: (f) => fmtGpu(f.gpuSecondsWasted.checks), part: true },
  { key: 'rate-audited', label: 'escalated / audited', show: (f) => fmtRate(f.escalationRate.audited, f.escalated, f.audited) },
  { key: 'rate-routed', label: 'escalated / routed', show: (f) => fmtRate(f.escalationRate.routed, f.escalated, f.routed) },
  { key: 'audits', label: 'audits pass / fail / skipped', show: (f) => f.audits.pass + ' / ' + f.audits.fail + ' / ' + f.audits.skipped },
]

function renderSavings(s) {
  if (!s) return
  const priced = s.costPerGpuHour !== null
  $('savings-price').textContent = priced ? '(money at ' + s.costPerGpuHour + ' per GPU hour)' : ''
  const head = h('tr', {}, h('th', {}, ''),
    h('th', { class: 'num', title: 'the sum over the last 60 minutes (whole minutes), not a rate' }, 'last hour (sum)'), h('th', { class: 'num' }, 'since start'))
  const rows = SAVINGS_ROWS.filter((r) => priced || !r.priced).map((r) => h('tr', { 'data-key': r.key },
    h('td', { class: r.part ? 'part' : null }, r.label), h('td', { class: 'num' }, r.show(s.lastHour)), h('td', { class: 'num' }, r.show(s.sinceStart))))
  $('savings').replaceChildren(h('thead', {}, head), h('tbody', {}, rows))
}
`
