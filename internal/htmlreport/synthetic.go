package htmlreport

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// Synthetic is a made-up fleet of n tenants (syn-0001, …) in staging and production with a
// month of records each, every state represented, the same for the same seed: the report's
// size and render benchmark and its browser test use it.
func Synthetic(n int, now time.Time, seed uint64) Data {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	since := now.Add(-30 * 24 * time.Hour)
	d := Data{Title: fmt.Sprintf("Fleet report (synthetic, %d tenants)", n), Generated: now, Since: since, Live: true,
		Envs: []string{"staging", "production"}, Records: map[string][]history.Entry{}}
	states := []fleetstatus.State{fleetstatus.StateOK, fleetstatus.StateOK, fleetstatus.StateOK, fleetstatus.StateSplit,
		fleetstatus.StateDrifted, fleetstatus.StateUnhealthy, fleetstatus.StateMissing, fleetstatus.StateError}
	statuses := []history.Status{history.StatusSucceeded, history.StatusSucceeded, history.StatusSucceeded, history.StatusSucceeded,
		history.StatusUnchanged, history.StatusFailed, history.StatusRolledBack, history.StatusInterrupted}
	for i := range n {
		t := fmt.Sprintf("syn-%04d", i+1)
		d.Tenants = append(d.Tenants, t)
		for ei, env := range d.Envs {
			k := t + "/" + env
			var es []history.Entry
			at := since.Add(time.Duration(rng.IntN(48)) * time.Hour)
			for j := 0; at.Before(now); j++ {
				st := statuses[rng.IntN(len(statuses))]
				kind := history.KindDeploy
				if rng.IntN(12) == 0 {
					kind, st = history.KindRollback, history.StatusSucceeded
				}
				r := history.Record{Tenant: t, Env: env, Kind: kind, Status: st, Actor: fmt.Sprintf("dev%d <dev%d@example.com>", j%5, j%5),
					GitSHA:    fmt.Sprintf("%040x", rng.Uint64()),
					VersionID: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1)),
					StartedAt: at.Add(-time.Duration(20+rng.IntN(100)) * time.Second), FinishedAt: at}
				if st == history.StatusFailed {
					r.Error = "deploy: upload: API 10021 (synthetic)"
				}
				path := filepath.Join("deployments", history.FileName(t, env, at))
				es = append([]history.Entry{{Path: path, Record: r}}, es...)
				at = at.Add(time.Duration(12+rng.IntN(96)) * time.Hour)
			}
			d.Records[k] = es
			state := states[(i+ei*3)%len(states)]
			row := fleetstatus.Row{Tenant: t, Env: env, State: state, Worker: t + "-api-" + env, Versions: []fleetstatus.Share{}, Records: len(es)}
			var live string
			for _, e := range es {
				if e.Record.Status == history.StatusSucceeded {
					live = e.Record.VersionID
					a := fleetstatus.Attempt{Kind: e.Record.Kind, Status: e.Record.Status, VersionID: live, Actor: e.Record.Actor, At: e.Record.FinishedAt, Record: e.Path}
					row.Deployed = &a
					break
				}
			}
			switch {
			case state == fleetstatus.StateMissing:
				row.Deployed = nil
			case state == fleetstatus.StateSplit && len(es) > 1:
				row.Versions = []fleetstatus.Share{{VersionID: live, Percentage: 10}, {VersionID: es[len(es)-1].Record.VersionID, Percentage: 90}}
			case live != "":
				row.Versions = []fleetstatus.Share{{VersionID: live, Percentage: 100}}
			}
			if state == fleetstatus.StateError {
				row.Error = "read live state: API 10000: authentication error (synthetic)"
			}
			d.Rows = append(d.Rows, row)
		}
	}
	return d
}
