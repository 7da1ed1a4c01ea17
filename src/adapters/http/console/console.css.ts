// The console's one stylesheet, served from /console/assets/console.css: the CSP allows styles from
// the console's own origin only, never inline ones, and nothing is fetched from elsewhere.

export const CONSOLE_CSS = `
:root { --ink: #1b1f24; --muted: #4a5360; --line: #d0d7de; --accent: #0b5cad; --bad: #a4161a; --ok: #1a7f37; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fff; }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #12263f; color: #fff; }
header.top a { color: #fff; }
header.top nav { display: flex; gap: 1rem; flex: 1; }
header.top .who { font-size: .85rem; }
header.top form { margin: 0; }
main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
h1 { font-size: 1.5rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85em; overflow-wrap: anywhere; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; }
.stat { font-size: 1.6rem; font-weight: 600; }
.muted { color: var(--muted); }
.notice { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .8rem; border-radius: 6px; }
.error { background: #ffebe9; border: 1px solid var(--bad); padding: .5rem .8rem; border-radius: 6px; }
.success { background: #dafbe1; border: 1px solid var(--ok); padding: .5rem .8rem; border-radius: 6px; }
form.inline { display: inline; }
label.inline { display: inline; font-weight: 400; }
label { display: block; margin: .4rem 0 .2rem; font-weight: 600; }
input[type=text], input[type=password], input[type=search], select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #6e7781; border-radius: 4px; min-width: 18rem; }
button { font: inherit; padding: .35rem .9rem; border-radius: 4px; border: 1px solid #1f6feb; background: #0b5cad; color: #fff; cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: #fff; text-decoration: underline; padding: 0; }
.tabs { display: flex; gap: 1rem; margin: 0 0 1rem; border-bottom: 1px solid var(--line); }
.tabs a { padding: .3rem 0; }
.tabs a[aria-current=page] { font-weight: 700; border-bottom: 3px solid var(--accent); }
pre { background: var(--bg); padding: .6rem; overflow: auto; max-height: 24rem; }
.payload { overflow: auto; max-height: 24rem; background: var(--bg); }
.payload pre { margin: 0; overflow: visible; max-height: none; }
.payload:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
svg.chart { width: 100%; height: auto; max-width: 480px; }
svg.graph { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #1b1f24; }
svg.graph text { font: 11px ui-monospace, SFMono-Regular, Menlo, monospace; }
svg.graph .survivor { stroke-width: 2.5; }
svg.graph .caption { font-weight: 700; }
svg .bar { fill: #0b5cad; }
svg .axis { stroke: #6e7781; }
svg .cell { fill: #0b5cad; }
svg text.on-dark { fill: #fff; }
svg .series polyline { stroke-width: 1.8; }
svg .s0 polyline { stroke: #0b5cad; } svg .s0 rect { fill: #0b5cad; }
svg .s1 polyline { stroke: #a4161a; } svg .s1 rect { fill: #a4161a; }
svg .s2 polyline { stroke: #1a7f37; } svg .s2 rect { fill: #1a7f37; }
svg .s3 polyline { stroke: #9a6700; } svg .s3 rect { fill: #9a6700; }
svg .s4 polyline { stroke: #6639ba; } svg .s4 rect { fill: #6639ba; }
svg .s5 polyline { stroke: #1b1f24; } svg .s5 rect { fill: #1b1f24; }
ul.queries li { margin: .3rem 0; }
.tabs.wrap { flex-wrap: wrap; gap: .4rem 1rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg .edge { stroke: #6e7781; stroke-width: 1.5; }
svg .edge.merge { stroke: #a4161a; stroke-dasharray: 5 3; }
svg .node-customer { fill: #ddf4ff; stroke: #0b5cad; }
svg .node-identifier { fill: #fff8c5; stroke: #9a6700; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;
