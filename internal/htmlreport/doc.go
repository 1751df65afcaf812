// Package htmlreport renders the fleet as one static HTML file that opens from disk: no script,
// no external stylesheet, font or image, no network. It holds the fleet matrix (tenant × env,
// coloured by state), each tenant's deploy timeline, the delivery metrics as small inline SVG
// charts, and per tenant/env the newest records, which every matrix cell links to.
//
// Render is a pure function of Data, so tests feed it hand-made fleets; Build collects Data
// from fleetstatus rows (live) or from the records alone (offline).
package htmlreport
