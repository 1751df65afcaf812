package htmlreport

import "html/template"

// page is the whole document. Everything it needs is inline: the file must open from disk
// with no network, and a Content-Security-Policy forbids fetching anything at all.
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;background:#fff}
header{background:#263238;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cfd8dc}
main{padding:16px 24px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e0e0e0;padding-bottom:4px}
.legend span{display:inline-block;margin:0 12px 6px 0}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
table{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid #e0e0e0;padding:0}
.matrix thead th{position:sticky;top:0;background:#eceff1;padding:4px 8px;text-align:left}
.matrix th.tenant{padding:4px 8px;text-align:left;font-weight:600;background:#fafafa}
.matrix a{display:block;padding:4px 8px;color:#fff;text-decoration:none;min-width:220px}
.matrix a .st{font-weight:600}
.matrix a code{display:block;font-size:11px;opacity:.95;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:16px}
.card{border:1px solid #e0e0e0;border-radius:6px;padding:12px;min-width:380px}
.card h3{margin:0 0 8px;font-size:15px}
.card dl{display:grid;grid-template-columns:auto auto;gap:2px 12px;margin:0 0 8px}
.card dt{color:#616161}.card dd{margin:0;font-weight:600}
.timelines div{display:flex;align-items:center;gap:8px;margin:2px 0}
.timelines .name{width:180px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.records section{margin:0 0 14px}
.records h3{font-size:14px;margin:0 0 4px}
.records table{font-size:12px}
.records td{font-family:ui-monospace,monospace}.records td,.records th{border-bottom:1px solid #f0f0f0;padding:2px 8px;text-align:left;vertical-align:top}
.records .err{color:#b71c1c;max-width:480px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:4px}
.empty{color:#757575}
.notice{border:2px solid #e65100;background:#fff3e0;border-radius:6px;padding:8px 12px;margin:0 0 12px}
.notice h2{margin:0 0 4px;border:0;font-size:16px;color:#e65100}
.notice ul{margin:4px 0;padding-left:20px}
{{.StatusCSS}}
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p>Generated {{.Generated}}; {{.Source}}; metrics since {{.Since}}. {{.Counts}}</p>
</header>
<main>
{{if .Skipped}}<div class="notice" id="skipped-records" role="alert"><h2>{{len .Skipped}} damaged record(s) left out of this report</h2>
<ul>{{range .Skipped}}<li><a href="{{.Href}}">{{.Name}}</a>: {{.Reason}}</li>{{end}}</ul>
<p>The states, metrics and record lists below are from the other records. {{.Fix}}.</p></div>
{{end}}<h2 id="matrix">Fleet matrix</h2>
<div class="legend">{{range .Legend}}<span><span class="sw" style="background:{{.Colour}}"></span>{{.Name}}</span>{{end}}</div>
<table class="matrix">
<thead><tr><th>tenant</th>{{range .Envs}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Matrix}}<tr data-tenant="{{.Tenant}}"><th class="tenant">{{.Tenant}}</th>{{range .Cells}}<td><a href="{{.Href}}" style="background:{{.Colour}}" title="{{.Title}}"><span class="st">{{.State}}</span><code>{{.Versions}}</code></a></td>{{end}}</tr>
{{end}}</tbody>
</table>

<h2 id="metrics">Delivery metrics</h2>
<div class="cards">
{{range .Metrics}}<div class="card"><h3>{{.Env}}</h3><dl>{{range .Figures}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{.Chart}}</div>
{{else}}<p class="empty">No records in the window.</p>{{end}}
</div>

<h2 id="timelines">Deploy timelines</h2>
<div class="legend"><span><span class="dot s-succeeded"></span>succeeded</span><span><span class="dot s-failed"></span>failed</span><span><span class="dot s-rolled_back"></span>rolled back</span><span><span class="dot s-interrupted"></span>interrupted</span><span><span class="dot s-unchanged"></span>unchanged</span><span>■ rollback record</span></div>
<div class="timelines">
{{range .Timelines}}<div><span class="name">{{.Tenant}}</span>{{.SVG}}</div>
{{end}}</div>

<h2 id="records">Records</h2>
<div class="records">
{{range .Sections}}<section id="{{.ID}}"><h3>{{.Tenant}}/{{.Env}}: {{.Total}} record(s){{if gt .Total (len .Items)}}, newest {{len .Items}} shown{{end}}</h3>
{{if .Items}}<table><thead><tr><th>finished (UTC)</th><th>kind</th><th>status</th><th>version</th><th>actor</th><th>git</th><th>record</th></tr></thead><tbody>
{{range .Items}}<tr><td>{{.When}}</td><td>{{.Kind}}</td><td><span class="dot s-{{.Status}}"></span>{{.Status}}</td><td>{{.Version}}</td><td>{{.Actor}}</td><td>{{.SHA}}</td><td><a href="{{.Href}}">{{.Name}}</a>{{if .Error}}<div class="err">{{.Error}}</div>{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">no records</p>{{end}}</section>
{{end}}</div>
</main>
</body>
</html>
`))
