//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// History lists and checks the deployment records in deployments/.
type History mg.Namespace

// List shows the deploy and rollback records of a tenant/env, newest first: time, kind, status, version, actor and git sha (also as `mage history <tenant> <env>`; -json=true for machines).
func (History) List(ctx context.Context, tenantName, env string, json *bool) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	if err := tenant.ValidName(tenantName); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return fmt.Errorf("history %s: %w", tenantName, err)
	}
	entries, err := history.Open(ws.DeploymentsDir()).List(tenantName, string(e))
	if err != nil {
		return err
	}
	if flag(json, false) {
		recs := make([]history.Record, 0, len(entries))
		for _, en := range entries {
			recs = append(recs, en.Record)
		}
		return report.JSON(os.Stdout, recs)
	}
	if len(entries) == 0 {
		fmt.Printf("no records for %s/%s in %s\n", tenantName, e, ws.DeploymentsDir())
		return nil
	}
	t := report.Table{Title: fmt.Sprintf("%s/%s: %d records, newest first", tenantName, e, len(entries)),
		Columns: []string{"finished (UTC)", "kind", "status", "version", "actor", "git sha", "record"}}
	for _, en := range entries {
		r := en.Record
		sha := r.GitSHA
		if len(sha) > 12 {
			sha = sha[:12]
		}
		if r.GitDirty {
			sha += "+dirty"
		}
		t.AddRow(report.Cell{Text: r.FinishedAt.UTC().Format("2006-01-02 15:04:05")}, report.Cell{Text: string(r.Kind)},
			report.Cell{Text: string(r.Status), Tone: statusTone(r.Status)}, report.Cell{Text: r.VersionID},
			report.Cell{Text: r.Actor}, report.Cell{Text: sha}, report.Cell{Text: filepath.Base(en.Path)})
	}
	return t.Text(os.Stdout, report.Colour(os.Stdout))
}

// Verify checks every record in deployments/ against the record format and the hash chain, and names each edited, deleted or reordered record by file name (exit 1).
func (History) Verify(ctx context.Context) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	probs, err := history.Verify(ws.DeploymentsDir())
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Println("no deployments/ folder: no records to verify")
		return nil
	}
	if err != nil {
		return err
	}
	if len(probs) == 0 {
		fmt.Printf("history: every record in %s is well-formed and the hash chains are intact\n", ws.DeploymentsDir())
		return nil
	}
	for _, p := range probs {
		fmt.Println(p.String())
	}
	return fmt.Errorf("history:verify: %d problem(s) in %s; restore the named records from git (`git log -- deployments/`) and never edit records by hand", len(probs), ws.DeploymentsDir())
}

func statusTone(s history.Status) report.Tone {
	switch s {
	case history.StatusSucceeded:
		return report.Good
	case history.StatusUnchanged:
		return report.Calm
	case history.StatusFailed, history.StatusRolledBack, history.StatusInterrupted:
		return report.Bad
	}
	return report.Plain
}

// Aliases makes `mage history <tenant> <env>` the listing, next to `mage history:verify`
// (Go cannot have a function and a namespace type both named History).
var Aliases = map[string]interface{}{
	"history": History.List,
}
