/** The dashboard's stylesheet, served as `/dashboard/app.css`. */

export const STYLE_CSS = `
:root { --bg: #0f1419; --panel: #171d24; --line: #263039; --text: #d8dee6; --muted: #7d8a97;
  --ok: #3fb950; --bad: #f85149; --warn: #d29922; --accent: #58a6ff; --simple: #3fb950; --moderate: #d29922; --complex: #bc8cff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; gap: 12px; align-items: baseline; padding: 10px 16px; border-bottom: 1px solid var(--line); }
h1 { font-size: 17px; margin: 0; }
h2 { font-size: 13px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; padding: 12px 16px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; overflow-x: auto; }
section.wide { grid-column: 1 / -1; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 11px; font-weight: 600; background: var(--line); }
.badge[data-state="live"], .badge.up { background: #1f4d2b; color: #aff5b4; }
.badge[data-state="reconnecting"], .badge.down { background: #5a1e1e; color: #ffb3ad; }
.badge.warn { background: #4d3b12; color: #f2cc60; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; min-width: 220px; flex: 0 1 280px; }
.tile h3 { font-size: 14px; margin: 0 0 6px; display: flex; gap: 8px; align-items: center; }
.tile dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; }
.tile dt { color: var(--muted); }
.tile dd { margin: 0; overflow-wrap: anywhere; }
.bar { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; margin-top: 3px; }
.bar > span { display: block; height: 100%; background: var(--accent); }
.bar.hot > span { background: var(--warn); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.reasons { white-space: normal; color: var(--muted); min-width: 240px; }
.cls { font-weight: 600; }
.cls-SIMPLE { color: var(--simple); } .cls-MODERATE { color: var(--moderate); } .cls-COMPLEX { color: var(--complex); }
tr.fresh { animation: flash 1.2s ease-out; }
tr.failed td { color: var(--bad); }
@keyframes flash { from { background: #1d3b5c; } to { background: transparent; } }
svg.spark { vertical-align: middle; }
svg.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
svg.spark.lat polyline { stroke: var(--warn); }
svg.spark circle { fill: var(--accent); }
svg.spark.lat circle { fill: var(--warn); }
.share { display: inline-block; width: 60px; vertical-align: middle; margin-right: 4px; }
form textarea { width: 100%; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 6px; font: inherit; }
form .row { display: flex; gap: 12px; align-items: center; margin-top: 6px; flex-wrap: wrap; }
input { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 3px 6px; font: inherit; }
button { background: var(--accent); color: #06121f; border: 0; border-radius: 4px; padding: 5px 12px; font-weight: 600; cursor: pointer; }
#explain-result { margin-top: 10px; padding: 8px 10px; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
#explain-result .headline { font-size: 15px; margin-bottom: 4px; }
#explain-result ul { margin: 4px 0 0; padding-left: 18px; }
#explain-result.error { border-color: var(--bad); color: #ffb3ad; }
[hidden] { display: none !important; }
nav { display: flex; gap: 4px; margin-left: 12px; }
nav button { background: transparent; color: var(--muted); border: 1px solid var(--line); }
nav button[aria-selected="true"] { background: var(--line); color: var(--text); }
#classifier { margin-left: auto; }
td.id code { font-size: 12px; color: var(--muted); }
button.fb { background: transparent; color: var(--text); border: 1px solid var(--line); padding: 1px 6px; margin-right: 4px; font-weight: 500; font-size: 12px; }
button.fb:hover:not(:disabled) { border-color: var(--accent); }
button.fb:disabled { opacity: .35; cursor: default; }
.fb-result.error, td.error { color: var(--bad); white-space: normal; }
.badge.forced { margin-left: 4px; background: #3b2d55; color: #d8c4ff; }
.filters { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
td.model .draft { color: var(--muted); text-decoration: line-through; }
.badge.audit { font-weight: 500; margin-left: 2px; }
.badge.audit.pass { background: #1f4d2b; color: #aff5b4; }
.badge.audit.fail { background: #4d3b12; color: #f2cc60; }
#savings { width: auto; }
#savings td.part { padding-left: 20px; color: var(--muted); }
.badge.team { margin-left: 4px; font-weight: 500; background: #1d3b5c; color: #a5d6ff; }
#teams td:first-child .badge.team { margin-left: 0; }
select { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 3px 6px; font: inherit; }
`
