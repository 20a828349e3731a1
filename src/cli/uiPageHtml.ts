/**
 * The inspector's page: HTML and style, with the bundled script inlined, so the server answers the page in one
 * response and the browser fetches nothing else (the content security policy allows only this script and style,
 * by the nonce the server puts where `%NONCE%` stands).
 *
 * @since 0.2.0
 */

const STYLE = `
:root { --bg: #fbfbfa; --fg: #1d1f21; --muted: #6b7075; --line: #dcdfe2; --accent: #2f6fb5; --warn: #b3261e;
  --vec: #2f6fb5; --text: #c77c1a; --conf: #3d8b4a; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg) }
* { box-sizing: border-box }
body { margin: 0 }
header { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: #fff }
header h1 { font-size: 1rem; margin: 0 1rem 0 0 }
header nav button { border: 0; background: none; padding: .4rem .8rem; cursor: pointer; font: inherit; border-bottom: 2px solid transparent }
header nav button.active { border-bottom-color: var(--accent); color: var(--accent) }
header .where { margin-left: auto; color: var(--muted); font-size: 12px }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #eef1f4; font-size: 12px; margin-right: .25rem }
.badge.ro { background: #fde8e6; color: var(--warn) }
main { padding: .75rem 1rem }
.bar { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .5rem }
.bar label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted) }
input, select, textarea, button { font: inherit }
input, select, textarea { padding: .2rem .35rem; border: 1px solid var(--line); border-radius: 3px; background: #fff }
textarea.where-editor { width: 22rem; height: 2.1rem; font-family: ui-monospace, monospace; font-size: 12px }
textarea.invalid { border-color: var(--warn) }
.error { color: var(--warn); font-size: 12px }
button { padding: .25rem .7rem; border: 1px solid var(--line); border-radius: 3px; background: #fff; cursor: pointer }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff }
button.danger { border-color: var(--warn); color: var(--warn) }
button:disabled { opacity: .45; cursor: default }
.split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem }
table { width: 100%; border-collapse: collapse; background: #fff }
th, td { text-align: left; padding: .3rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top }
th { font-size: 12px; color: var(--muted); font-weight: 600 }
tr.row { cursor: pointer }
tr.row:hover, tr.row.selected { background: #eef4fb }
td.content { max-width: 0; width: 60%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap }
td.num { text-align: right; font-variant-numeric: tabular-nums }
.pager { display: flex; gap: .5rem; align-items: center; margin: .5rem 0; color: var(--muted) }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: .75rem }
.panel h2 { font-size: 1rem; margin: 0 0 .5rem }
.panel pre { white-space: pre-wrap; word-break: break-word; margin: .25rem 0 .75rem; max-height: 40vh; overflow: auto }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: 0 0 .75rem; font-size: 13px }
dl.fields dt { color: var(--muted) }
dl.fields dd { margin: 0; word-break: break-all }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 1rem; border-left: 2px solid var(--line) }
ol.timeline li { position: relative; margin: 0 0 .5rem; padding-left: .5rem }
ol.timeline li::before { content: ""; position: absolute; left: -1.4rem; top: .35rem; width: .6rem; height: .6rem; border-radius: 50%; background: var(--accent) }
ol.timeline li.superseded::before, ol.timeline li.expires::before { background: var(--warn) }
ol.timeline li.reinforced::before { background: var(--conf) }
ol.timeline time { color: var(--muted); font-size: 12px; margin-right: .5rem }
.explain { display: grid; grid-template-columns: 2.5rem 6rem; gap: 2px .3rem; font-size: 11px; color: var(--muted) }
.explain .track { height: 8px; margin-top: 3px; background: #eef1f4; border-radius: 2px; overflow: hidden }
.explain .fill { height: 100% }
.fill.vec { background: var(--vec) } .fill.text { background: var(--text) } .fill.conf { background: var(--conf) }
.actions { display: flex; gap: .5rem; margin-top: .5rem }
dialog { border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; max-width: 30rem }
dialog::backdrop { background: rgba(0, 0, 0, .25) }
.threads { display: grid; grid-template-columns: 20rem minmax(0, 1fr); gap: 1rem }
.thread-list { max-height: calc(100vh - 9rem); overflow: auto }
.thread-item { padding: .4rem .5rem; border-bottom: 1px solid var(--line); cursor: pointer; background: #fff }
.thread-item:hover, .thread-item.selected { background: #eef4fb }
.thread-item .meta { color: var(--muted); font-size: 12px }
.scroller { position: relative; height: calc(100vh - 20rem); min-height: 16rem; overflow-y: auto; background: #fff; border: 1px solid var(--line) }
.msg { position: absolute; left: 0; right: 0; height: 56px; padding: .3rem .6rem; border-bottom: 1px solid #f0f1f2; overflow: hidden; cursor: pointer }
.msg .head { font-size: 11px; color: var(--muted) }
.msg .body { white-space: nowrap; overflow: hidden; text-overflow: ellipsis }
.msg.user { border-left: 3px solid var(--accent) } .msg.assistant { border-left: 3px solid var(--conf); background: #fafdfb }
.msg.system { border-left: 3px solid #888; font-style: italic } .msg.tool_use, .msg.tool_result { border-left: 3px solid var(--text); font-family: ui-monospace, monospace; font-size: 12px }
.msg.agent_push { border-left: 3px solid #8a4fbf }
.msg.loading { color: var(--muted) }
.role { font-weight: 600; margin-right: .4rem; text-transform: uppercase; font-size: 10px }
svg.tree text { font-size: 11px; fill: var(--fg) } svg.tree .node { cursor: pointer }
svg.tree circle { fill: #fff; stroke: var(--accent); stroke-width: 2 } svg.tree .current circle { fill: var(--accent) }
svg.tree path { fill: none; stroke: #aab2bb }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .75rem; margin-bottom: 1rem }
.card { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: .6rem .75rem }
.card .n { font-size: 1.4rem; font-weight: 600 } .card .l { color: var(--muted); font-size: 12px }
svg.chart text { font-size: 10px; fill: var(--muted) }
svg.chart .mem { fill: var(--accent) } svg.chart .msgs { fill: var(--text) }
.muted { color: var(--muted) }
`

/**
 * The page with `script` inlined; without a bundled script (the command line run from its sources), a page that
 * says how to build it.
 *
 * @category page
 */
export const pageHtml = (script: string | undefined): string =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>arawn-store inspector</title><link rel="icon" href="data:,"><style nonce="%NONCE%">${STYLE}</style></head>
<body><div id="app">${script === undefined ? "<p>The page's script is built by <code>npm run build</code>.</p>" : ""}</div>
${script === undefined ? "" : `<script nonce="%NONCE%">${script.replaceAll("</script", "<\\/script")}</script>`}
</body></html>
`
