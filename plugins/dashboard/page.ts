/** The dashboard's HTML shell: a Live and a History tab; the script (`/dashboard/app.js`) fills them from SSE, `/health` and `/router/history`. */

export function renderPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:">
<title>switchyard dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>switchyard</h1>
  <span id="conn" class="badge" data-state="connecting">connecting</span>
  <span id="totals" class="muted"></span>
  <nav role="tablist">
    <button type="button" role="tab" id="tab-live" aria-selected="true">Live</button>
    <button type="button" role="tab" id="tab-history" aria-selected="false">History</button>
  </nav>
  <span id="classifier" class="muted"></span>
</header>
<main id="view-live">
  <section class="wide">
    <h2>Backends</h2>
    <div id="backends" class="tiles"><p class="muted">waiting for /health…</p></div>
  </section>
  <section class="wide">
    <h2>GPUs</h2>
    <div id="gpus" class="tiles"><p class="muted">waiting for /health…</p></div>
  </section>
  <section class="wide" id="savings-panel">
    <h2>GPU savings <span id="savings-price" class="muted"></span></h2>
    <table id="savings" class="stats"><tbody><tr><td class="muted">waiting for the first snapshot…</td></tr></tbody></table>
  </section>
  <section class="wide">
    <h2>Try a prompt</h2>
    <form id="explain">
      <textarea id="explain-prompt" rows="3" placeholder="write a docstring for foo" required></textarea>
      <div class="row">
        <label>model <input id="explain-model" value="auto" size="24"></label>
        <button type="submit">Explain routing</button>
        <span class="muted">classifies and selects only: nothing is sent to a model</span>
      </div>
    </form>
    <div id="explain-result" hidden></div>
  </section>
  <section class="wide">
    <h2>Per model <span id="window" class="muted"></span></h2>
    <table id="models" class="stats"></table>
  </section>
  <section class="wide">
    <h2>Per class</h2>
    <table id="classes" class="stats"></table>
  </section>
  <section class="wide">
    <h2>Per team</h2>
    <table id="teams" class="stats"></table>
  </section>
  <section class="wide">
    <h2>Live feed</h2>
    <table id="feed">
      <thead><tr>
        <th>time</th><th title="end of x-switchyard-request-id; hover a row's id for all of it">id</th><th>client</th><th>route</th><th>class</th><th>model</th><th>backend</th><th>cache</th>
        <th class="num">TTFT</th><th class="num">total</th><th class="num">tokens</th><th>feedback</th><th>reasons</th>
      </tr></thead>
      <tbody><tr class="empty"><td colspan="13" class="muted">no requests yet: send one to this gateway</td></tr></tbody>
    </table>
  </section>
</main>
<main id="view-history" hidden>
  <section class="wide">
    <h2>Decision history</h2>
    <form id="history-filters" class="filters">
      <label>route <select id="history-route"><option value="">any</option></select></label>
      <label>class <select id="history-class"><option value="">any</option><option>SIMPLE</option><option>MODERATE</option><option>COMPLEX</option></select></label>
      <label>since <select id="history-since">
        <option value="3600000">last hour</option><option value="86400000" selected>last day</option><option value="604800000">last week</option><option value="">any time</option>
      </select></label>
      <label>limit <input id="history-limit" type="number" min="1" max="1000" value="100" size="5"></label>
      <button type="submit">Load</button>
      <span id="history-summary" class="muted"></span>
    </form>
    <table id="history-table">
      <thead><tr>
        <th>time</th><th>id</th><th>client</th><th>route</th><th>class</th><th>model</th><th>backend</th><th class="num">status</th><th>cache</th>
        <th class="num">latency</th><th class="num">TTFT</th><th class="num">tokens</th><th>classifier version</th><th>feedback</th>
      </tr></thead>
      <tbody><tr class="empty"><td colspan="14" class="muted">loading…</td></tr></tbody>
    </table>
  </section>
</main>
</body>
</html>
`
}
