package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Show writes the records of tenant/env in dir, newest first, as a table (or, with asJSON, as a
// JSON array of records and nothing else). It is the body of `mage history`. In the table a
// damaged record is a DAMAGED row naming its file (the rest still shows: that is when an
// operator needs the history most); the JSON array has no place for one, so it fails naming it.
func Show(w io.Writer, dir, tenant, env string, asJSON bool) error {
	list := Open(dir).Entries
	if asJSON {
		list = Open(dir).List
	}
	entries, err := list(tenant, env)
	if err != nil {
		return err
	}
	if asJSON {
		recs := make([]Record, 0, len(entries))
		for _, en := range entries {
			recs = append(recs, en.Record)
		}
		return report.JSON(w, recs)
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintf(w, "no records for %s/%s in %s\n", tenant, env, dir)
		return err
	}
	t := report.Table{Title: fmt.Sprintf("%s/%s: %d records, newest first", tenant, env, len(entries)),
		Columns: []string{"finished (UTC)", "kind", "status", "version", "actor", "git sha", "record"}}
	var damaged []Entry
	for _, en := range entries {
		if en.Damaged != nil {
			damaged = append(damaged, en)
			t.AddRow(report.Cell{Text: "?"}, report.Cell{Text: "?"}, report.Cell{Text: "DAMAGED", Tone: report.Bad},
				report.Cell{}, report.Cell{}, report.Cell{}, report.Cell{Text: filepath.Base(en.Path)})
			continue
		}
		r := en.Record
		sha := r.GitSHA
		if len(sha) > 12 {
			sha = sha[:12]
		}
		if r.GitDirty {
			sha += "+dirty"
		}
		t.AddRow(report.Cell{Text: r.FinishedAt.UTC().Format("2006-01-02 15:04:05")}, report.Cell{Text: string(r.Kind)},
			report.Cell{Text: string(r.Status), Tone: StatusTone(r.Status)}, report.Cell{Text: r.VersionID},
			report.Cell{Text: r.Actor}, report.Cell{Text: sha}, report.Cell{Text: filepath.Base(en.Path)})
	}
	if err := t.Text(w, report.Colour(w)); err != nil {
		return err
	}
	for _, en := range damaged {
		if _, err := fmt.Fprintf(w, "warning: %s is damaged (%v); `go tool mage history:verify` lists every problem\n", filepath.Base(en.Path), en.Damaged); err != nil {
			return err
		}
	}
	return nil
}

// CheckAll verifies every record in dir (format, hash chain, and, when dir is in the git
// checkout at root, against the last commit), writes one line per problem (or one line saying
// all is well) to w, and returns an error when any record fails. It is the body of
// `mage history:verify`.
func CheckAll(ctx context.Context, w io.Writer, root, dir string) error {
	probs, err := Verify(dir)
	if errors.Is(err, fs.ErrNotExist) {
		_, err := fmt.Fprintf(w, "no records to verify: %s does not exist\n", dir)
		return err
	}
	if err != nil {
		return err
	}
	probs = append(probs, Committed(ctx, root, dir)...)
	slices.SortStableFunc(probs, func(a, b Problem) int { return strings.Compare(a.File, b.File) })
	if len(probs) == 0 {
		_, err := fmt.Fprintf(w, "history: every record in %s is well-formed and the hash chains are intact\n", dir)
		return err
	}
	for _, p := range probs {
		fmt.Fprintln(w, p.String())
	}
	if rehearsal(dir) {
		return fmt.Errorf("history:verify: %d problem(s) in %s, a rehearsal's records, which git does not keep: delete the named files (or `go tool mage sandbox:reset` for a fresh rehearsal); never edit records by hand", len(probs), dir)
	}
	return fmt.Errorf("history:verify: %d problem(s) in %s; restore the named records from git (`git log -- %s`) and never edit records by hand", len(probs), dir, relToRoot(root, dir))
}

// StatusTone is how a record's status is coloured in tables.
func StatusTone(s Status) report.Tone {
	switch s {
	case StatusSucceeded:
		return report.Good
	case StatusUnchanged:
		return report.Calm
	case StatusFailed, StatusRolledBack, StatusInterrupted:
		return report.Bad
	}
	return report.Plain
}

// relToRoot is dir as git wants it from the repository's root; dir itself when it lies outside.
func relToRoot(root, dir string) string {
	if r, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r) + "/"
	}
	return dir
}
