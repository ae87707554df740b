/** The dashboard's HTML shell; the script (`/dashboard/app.js`) fills it from SSE and `/health`. */

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
</header>
<main>
  <section class="wide">
    <h2>Backends</h2>
    <div id="backends" class="tiles"><p class="muted">waiting for /health…</p></div>
  </section>
  <section class="wide">
    <h2>GPUs</h2>
    <div id="gpus" class="tiles"><p class="muted">waiting for /health…</p></div>
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
    <h2>Live feed</h2>
    <table id="feed">
      <thead><tr>
        <th>time</th><th>route</th><th>class</th><th>model</th><th>backend</th><th>cache</th>
        <th class="num">TTFT</th><th class="num">total</th><th class="num">tokens</th><th>reasons</th>
      </tr></thead>
      <tbody><tr class="empty"><td colspan="10" class="muted">no requests yet: send one to this gateway</td></tr></tbody>
    </table>
  </section>
</main>
</body>
</html>
`
}
