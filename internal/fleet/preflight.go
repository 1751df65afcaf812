package fleet

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// gate runs the preflight of every selected tenant, concurrently, before the first upload.
// It returns the selection that may run, the outcomes already decided and the ready tenants'
// reports (which their deploys reuse instead of asking again): without
// ContinueOnError (or when the canary is unready) one unready tenant means nothing runs: the
// unready ones fail with the reason and the rest are skipped; with it, the unready ones are
// skipped with the reason and the others run.
func gate(ctx context.Context, ws workspace.Workspace, sel Selection, base deploy.Options, continueOnError bool, progress *report.Progress, stderr io.Writer) (Selection, map[string]Outcome, bool, map[string]*deploy.CheckedPreflight) {
	at := time.Now()
	reps, err := preflight.Tenants(ctx, preflight.Access{
		Workspace: ws, APIBaseURL: base.APIBaseURL, HTTPClient: base.HTTPClient,
		Lookup: base.Lookup, Sandbox: base.SandboxToken, Log: base.Log,
	}, sel.Tenants, sel.Env, preflight.DefaultParallel)
	decided := map[string]Outcome{}
	checked := map[string]*deploy.CheckedPreflight{}
	var unready []string
	for _, r := range reps {
		if r.Ready() {
			checked[r.Tenant] = &deploy.CheckedPreflight{Report: r, At: at}
			progress.Line(r.Tenant, "ready", report.Good, "preflight")
			continue
		}
		unready = append(unready, r.Tenant)
		why := r.Err().Error()
		if err != nil && r.Error == "" {
			why = err.Error()
		}
		decided[r.Tenant] = Outcome{Tenant: r.Tenant, Status: Failed, Error: why}
	}
	if len(unready) == 0 {
		return sel, decided, false, checked
	}
	fmt.Fprintf(stderr, "deploy:all %s: preflight: %d of %d tenant(s) not ready: %s (see `go tool mage preflight all %s`)\n",
		sel.Env, len(unready), len(sel.Tenants), strings.Join(unready, ", "), sel.Env)
	if !continueOnError || slices.Contains(unready, sel.Canary) || err != nil {
		for _, t := range sel.Tenants {
			if o, bad := decided[t]; bad {
				progress.Line(t, string(Failed), Failed.Tone(), firstLine(o.Error))
				continue
			}
			why := fmt.Sprintf("not started: preflight found %d unready tenant(s): %s; nothing is deployed", len(unready), strings.Join(unready, ", "))
			if slices.Contains(unready, sel.Canary) {
				why = fmt.Sprintf("not started: canary %s not ready", sel.Canary)
			}
			decided[t] = Outcome{Tenant: t, Status: Skipped, Error: why}
			progress.Line(t, string(Skipped), Skipped.Tone(), why)
		}
		return Selection{}, decided, true, nil
	}
	rest := sel
	rest.Tenants = slices.DeleteFunc(slices.Clone(sel.Tenants), func(t string) bool { return slices.Contains(unready, t) })
	for _, t := range unready {
		o := decided[t]
		o.Status, o.Error = Skipped, "not ready: "+o.Error
		decided[t] = o
		progress.Line(t, string(Skipped), Skipped.Tone(), firstLine(o.Error))
	}
	return rest, decided, false, checked
}

// merge puts the gate's decided outcomes and the run's into selection order.
func merge(sel Selection, sum Summary, decided map[string]Outcome) Summary {
	ran := map[string]Outcome{}
	for _, o := range sum.Outcomes {
		ran[o.Tenant] = o
	}
	sum.Outcomes = make([]Outcome, 0, len(sel.Tenants))
	for _, t := range sel.Tenants {
		if o, ok := decided[t]; ok {
			sum.Outcomes = append(sum.Outcomes, o)
		} else {
			sum.Outcomes = append(sum.Outcomes, ran[t])
		}
	}
	return sum
}
