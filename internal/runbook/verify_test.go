package runbook_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// mage runs `go tool mage args...` in ws and returns its output and exit code.
func mage(t *testing.T, ws workspace.Workspace, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "mage"}, args...)...)
	cmd.Dir = ws.Root
	cmd.Env = testrepo.MageEnv()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("go tool mage %v: %v\n%s", args, err, out)
	return "", -1
}

// records writes n chained deploy records of one tenant/env and returns their paths, oldest first.
func records(t *testing.T, ws workspace.Workspace, n int) []string {
	t.Helper()
	s := history.Open(ws.DeploymentsDir())
	var paths []string
	for i := range n {
		start := time.Now().UTC()
		p, err := s.Write(history.Record{Kind: history.KindDeploy, Tenant: tenant, Env: "staging", WorkerName: tenant + "-api-staging",
			AccountID: "4f1c2b7e9a0d43c8b6e5f70192a3b4c5", Actor: "Test Operator", GitSHA: "0123456789abcdef0123456789abcdef01234567",
			WranglerVersion: "4.63.0", VersionID: "0000000" + string(rune('0'+i)) + "-0000-4000-8000-000000000000",
			Status: history.StatusSucceeded, StartedAt: start})
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p.Path)
	}
	return paths
}

// TestHistoryVerifyTargetNamesTampering runs `mage history:verify` on a clean history, then
// after one record is edited, and (in a fresh history) after one is deleted: each time the
// target must name the record by file name and exit 1.
func TestHistoryVerifyTargetNamesTampering(t *testing.T) {
	testrepo.NeedMage(t)
	repo := testrepo.Repo(t)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	paths := records(t, ws, 3)
	if out, code := mage(t, ws, "history:verify"); code != 0 {
		t.Fatalf("clean history: exit %d\n%s", code, out)
	}
	if out, code := mage(t, ws, "history", tenant, "staging"); code != 0 || !strings.Contains(out, filepath.Base(paths[2])) {
		t.Fatalf("history listing: exit %d\n%s", code, out)
	}

	// Edited: the middle record's status is changed by hand.
	b, _ := os.ReadFile(paths[1])
	edited := strings.Replace(string(b), `"status": "succeeded"`, `"status": "failed"`, 1)
	if edited == string(b) {
		t.Fatal("setup: status not found in the record")
	}
	os.WriteFile(paths[1], []byte(edited), 0o644)
	out, code := mage(t, ws, "history:verify")
	if code != 1 || !strings.Contains(out, filepath.Base(paths[1])+": edited") {
		t.Fatalf("edited record: exit %d, want 1 naming %s:\n%s", code, filepath.Base(paths[1]), out)
	}
	os.WriteFile(paths[1], b, 0o644)
	if out, code := mage(t, ws, "history:verify"); code != 0 {
		t.Fatalf("restored record still reported: exit %d\n%s", code, out)
	}

	// Deleted: the middle record disappears.
	os.Remove(paths[1])
	out, code = mage(t, ws, "history:verify")
	if code != 1 || !strings.Contains(out, "deleted") || !strings.Contains(out, filepath.Base(paths[0])) && !strings.Contains(out, filepath.Base(paths[2])) {
		t.Fatalf("deleted record: exit %d, want 1 naming a neighbour of %s:\n%s", code, filepath.Base(paths[1]), out)
	}
}
