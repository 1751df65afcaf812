package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// rolloutInterrupted is issue 13's "a rollout stopped with Ctrl-C during its bake" through the
// compiled magefile: a real SIGINT mid-bake leaves the split live and an interrupted record;
// deploy:status shows the split and its record; deploy:abort puts the old version back alone at
// 100% with a record of its own; deploy:promote then finds nothing split. With SIGKILL to the
// whole process group (nothing of the run survives to write a record) deploy:abort first writes
// the interrupted record from the run's reservation and then settles the split the same way.
func rolloutInterrupted(t *testing.T, ws workspace.Workspace, sb *testworld.Sandbox, bin, tn string, sig syscall.Signal) {
	ctx := context.Background()
	mage := func(args ...string) (string, error) { return runMage(ws, bin, args...) }
	markChecked := func() {
		if err := treecheck.MarkPassed(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	bump := func(marker string) {
		p := filepath.Join(ws.WorkerDir(), "src", "index.ts")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, []byte("\nexport const rolloutMarker_"+tn+"_"+marker+" = 1;\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		markChecked()
	}
	tt, err := tenant.Load(ctx, ws, tn)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tt.Resolve(tenant.Staging)
	if err != nil {
		t.Fatal(err)
	}
	api, err := cfapi.New(cfapi.Config{BaseURL: sb.APIBaseURL(), Token: sb.Server.Token(r.AccountID), AccountID: r.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	split := func() []cfapi.TrafficSplit {
		d, err := api.LiveDeployment(ctx, r.WorkerName)
		if err != nil {
			t.Fatal(err)
		}
		return d.Versions
	}
	sb.Server.ClearFaults()

	// v1 live (the Worker exists from the earlier subtests), with the secrets a deploy's
	// preflight requires.
	if _, err := secrets.Put(ctx, api, r.WorkerName, []secrets.Value{{Name: "AI_GATEWAY_TOKEN", Value: "a"}, {Name: "WEBHOOK_SIGNING_KEY", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	bump("v1")
	killed := sig == syscall.SIGKILL
	v1Deploy := []string{"deploy:tenant", tn, "staging"}
	if killed {
		// v1 by a one-step rollout: its record names v1 as a rollout's new version, which the
		// split below must not be taken for.
		v1Deploy = append(v1Deploy, "-rollout=100")
	}
	if out, err := mage(v1Deploy...); err != nil {
		t.Fatalf("deploy v1: %v\n%s", err, out)
	}
	v1 := split()[0].VersionID

	bump("v2")
	var out bytes.Buffer
	cmd := exec.Command(bin, "deploy:tenant", tn, "staging", "-rollout=50,100", "-bake=60s")
	cmd.Dir, cmd.Env = ws.Root, testrepo.MageEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if s := split(); len(s) == 2 && s[0].Percentage == 50 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the rollout ended (%v) before reaching 50%%:\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 50%% split within 2 minutes:\n%s", out.String())
		}
	}
	time.Sleep(300 * time.Millisecond) // into the bake
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	select {
	case err := <-exited:
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("after %s: want a non-zero exit, got %v:\n%s", sig, err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("still running a minute after %s:\n%s", sig, out.String())
	}
	if s := split(); len(s) != 2 {
		t.Fatalf("the interrupted rollout left %+v, want its 50/50 split", s)
	}
	records := history.Open(sandboxctl.PathsFor(ws).Records)
	es, err := records.Entries(tn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if killed {
		if len(es) > 0 && es[0].Record.Status == history.StatusInterrupted && len(es[0].Record.Rollout) > 0 {
			t.Fatalf("a SIGKILLed run wrote a record: %+v", es[0].Record)
		}
		st, err := mage("deploy:status", tn, "staging")
		if err != nil || !strings.Contains(st, tn+"/staging: SPLIT ") || !strings.Contains(st, "deploy:abort "+tn+" staging") || strings.Contains(st, "rollout of") {
			t.Fatalf("deploy:status of a split no record names yet: %v\n%s", err, st)
		}
	} else {
		rec := es[0].Record
		if rec.Status != history.StatusInterrupted || len(rec.Rollout) != 2 || rec.Rollout[1].Gate != "interrupted" || rec.PreviousVersionID != v1 {
			t.Fatalf("interrupted rollout record: %s %+v (%s)\n%s", rec.Status, rec.Rollout, rec.Error, out.String())
		}
		st, err := mage("deploy:status", "all", "staging")
		if err != nil || !strings.Contains(st, tn+"/staging: SPLIT ") || !strings.Contains(st, rec.VersionID) || !strings.Contains(st, "interrupted") {
			t.Fatalf("deploy:status: %v\n%s", err, st)
		}
	}
	ab, err := mage("deploy:abort", tn, "staging")
	if err != nil {
		t.Fatalf("deploy:abort: %v\n%s", err, ab)
	}
	if s := split(); len(s) != 1 || s[0].VersionID != v1 || s[0].Percentage != 100 {
		t.Fatalf("after deploy:abort the live split is %+v, want %s alone at 100%%", s, v1)
	}
	es, _ = records.Entries(tn, "staging")
	if a := es[0].Record; a.Kind != history.KindRollback || a.Status != history.StatusSucceeded || a.VersionID != v1 || a.Reason != "deploy:abort" {
		t.Fatalf("abort record: %+v", a)
	}
	if killed {
		// The killed run's record, written by deploy:abort from the reservation it left.
		k := es[1].Record
		if !strings.Contains(ab, "was killed before it finished") || k.Status != history.StatusInterrupted || len(k.Rollout) != 2 ||
			k.PreviousVersionID != v1 || !strings.Contains(k.Error, "traffic split is still live") || !strings.Contains(k.Error, "deploy:abort") {
			t.Fatalf("settled record of the killed rollout: %s %+v (%s)\ndeploy:abort said:\n%s", k.Status, k.Rollout, k.Error, ab)
		}
	}
	if pr, err := mage("deploy:promote", tn, "staging"); err == nil || !strings.Contains(pr, "not split") {
		t.Fatalf("deploy:promote with nothing split: %v\n%s", err, pr)
	}
}
