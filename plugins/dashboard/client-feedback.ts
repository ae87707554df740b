/** The browser script's request-id cells and "too weak" / "too strong" buttons, which POST `/router/feedback`. */

// Appended to CLIENT_JS in one `/dashboard/app.js`: it uses that part's h() and classBadge(), and the feed and history rows use its cells.
export const FEEDBACK_JS = String.raw`
// Ids share a per-process prefix and end in a counter: the tail tells rows apart; the title has the whole id.
const shortId = (id) => (id.length <= 10 ? id : '…' + id.slice(-8))
const idCell = (id) => h('td', { class: 'id', title: id }, h('code', {}, shortId(id)))

/** The message of an error answer: OpenAI shape { error: { message } }, Ollama shape { error: '…' }, else the status. */
function errorMessage(res, body) {
  const e = body && body.error
  const message = typeof e === 'string' ? e : e && e.message
  return message || 'HTTP ' + res.status
}

// What was recorded in this tab, by request id: the feed is redrawn from a fresh snapshot on every SSE reconnect.
const MAX_REMEMBERED = 500
const given = new Map()
function remember(id, state) {
  given.delete(id)
  given.set(id, state)
  if (given.size > MAX_REMEMBERED) given.delete(given.keys().next().value)
}

const VERDICTS = [
  { verdict: 'too-weak', text: 'too weak', title: 'a stronger class was needed', pointless: 'COMPLEX' },
  { verdict: 'too-strong', text: 'too strong', title: 'a weaker class would have done', pointless: 'SIMPLE' },
]

function showFeedback(cell, state) {
  const out = cell.querySelector('.fb-result')
  if (!state) return out.replaceChildren()
  out.className = 'fb-result' + (state.error ? ' error' : '')
  out.replaceChildren(...(state.error ? [state.error] : ['→ ', classBadge(state.label, null), h('span', { class: 'muted' }, state.source ? ' ' + state.source : '')]))
}

/** Every cell for this id (a decision can be in the feed and in the history table at once). */
function feedbackCells(id) {
  return [...document.querySelectorAll('td.feedback')].filter((cell) => cell.dataset.id === id)
}

async function sendVerdict(id, verdict) {
  const cells = feedbackCells(id)
  for (const cell of cells) for (const b of cell.querySelectorAll('button')) b.disabled = true
  let state
  try {
    const res = await fetch('/router/feedback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestId: id, verdict }) })
    const body = await res.json().catch(() => null)
    if (!res.ok) throw new Error(errorMessage(res, body))
    state = { label: body.label, source: 'verdict' }
    remember(id, state)
  } catch (error) {
    state = { error: String(error.message || error) }
  }
  for (const cell of feedbackCells(id)) {
    showFeedback(cell, state)
    for (const b of cell.querySelectorAll('button')) b.disabled = b.dataset.pointless === 'true'
  }
}

/**
 * The feedback cell of a decision: buttons when it went through a route (has a class), and the label recorded for
 * it (from the history, or from a button pressed in this tab).
 */
function feedbackCell(id, label, recorded) {
  const cell = h('td', { class: 'feedback', 'data-id': id })
  if (label) {
    for (const v of VERDICTS) {
      const pointless = label === v.pointless
      cell.append(h('button', {
        type: 'button', class: 'fb', 'data-verdict': v.verdict, 'data-pointless': String(pointless), disabled: pointless,
        title: pointless ? 'already the ' + (label === 'SIMPLE' ? 'weakest' : 'strongest') + ' class' : v.title + ': records a correction for this request',
        onclick: () => sendVerdict(id, v.verdict),
      }, v.text))
    }
  }
  cell.append(h('span', { class: 'fb-result' }))
  // A history answer is newer than what this tab remembers; a feed row redrawn from a snapshot has only the latter.
  const state = recorded ? { label: recorded.label, source: recorded.source } : given.get(id)
  showFeedback(cell, state)
  return cell
}
`
