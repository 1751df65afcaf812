package lease_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/gitrun"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lease"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// team is two clones of one repository sharing a local bare repository as origin, and one
// sandbox: clone A started it, clone B attached to it with sandbox:attach, as a second
// operator would. One compiled magefile serves both (it finds its checkout from its folder).
type team struct {
	a, b workspace.Workspace
	sb   *testworld.Sandbox
	bin  string
}

func newTeam(t *testing.T) *team {
	t.Helper()
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	testrepo.NeedMage(t)
	a := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	b := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	bare := filepath.Join(t.TempDir(), "team.git")
	gitIn(t, a.Root, "clone", "-q", "--bare", a.Root, bare)
	branch := gitIn(t, a.Root, "symbolic-ref", "--short", "HEAD")
	gitIn(t, a.Root, "remote", "add", "origin", bare)
	gitIn(t, b.Root, "remote", "add", "origin", bare)
	gitIn(t, b.Root, "fetch", "-q", "origin", branch)
	gitIn(t, b.Root, "reset", "-q", "--hard", "FETCH_HEAD") // one history: B is a clone of A's commit
	sb := testworld.StartSandbox(t, a)
	bin := testrepo.CompileMage(t, a, "mage-lease")
	tm := &team{a: a, b: b, sb: sb, bin: bin}
	if out, err := tm.run(t, b, nil, "sandbox:attach", sb.URL); err != nil {
		t.Fatalf("sandbox:attach in clone B: %v\n%s", err, out)
	}
	// These tests are about leases, not the checks a deploy depends on.
	for _, ws := range []workspace.Workspace{a, b} {
		if err := treecheck.MarkPassed(context.Background(), ws); err != nil {
			t.Fatal(err)
		}
	}
	return tm
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitrun.Run(context.Background(), dir, nil, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// command is the magefile run in ws with extra environment.
func (tm *team) command(ws workspace.Workspace, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(tm.bin, args...)
	cmd.Dir, cmd.Env = ws.Root, append(testrepo.MageEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func (tm *team) run(t *testing.T, ws workspace.Workspace, env []string, args ...string) (string, error) {
	t.Helper()
	out, err := tm.command(ws, env, args...).CombinedOutput()
	return string(out), err
}

// status is lease:status of tenant/env as clone ws sees it.
func (tm *team) status(t *testing.T, ws workspace.Workspace, tenantName, env string) []lease.Lease {
	t.Helper()
	cmd := tm.command(ws, nil, "lease:status", tenantName, env, "-json=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lease:status: %v\n%s", err, stderr.String())
	}
	var ls []lease.Lease
	if err := json.Unmarshal(out, &ls); err != nil {
		t.Fatalf("lease:status -json: %v\n%s", err, out)
	}
	return ls
}

// waitHeld waits until tenant/env's lease is held by the run that ends on done, and returns it.
func (tm *team) waitHeld(t *testing.T, tenantName, env string, done <-chan ran) lease.Lease {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, l := range tm.status(t, tm.b, tenantName, env) {
			if l.Content.State == lease.Held {
				return l
			}
		}
		select {
		case r := <-done:
			t.Fatalf("the run ended (%v) before its lease was seen held:\n%s", r.err, r.all)
		default:
		}
	}
	t.Fatalf("no lease of %s/%s was taken within 2 minutes", tenantName, env)
	return lease.Lease{}
}

type ran struct {
	stdout, all string
	err         error
}

// deployJSON parses a deploy's -json outcome.
func deployJSON(t *testing.T, r ran) deploy.Outcome {
	t.Helper()
	var o deploy.Outcome
	if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
		t.Fatalf("deploy -json: %v\n%s", err, r.all)
	}
	return o
}

func (tm *team) start(t *testing.T, ws workspace.Workspace, env []string, args ...string) (*exec.Cmd, <-chan ran) {
	t.Helper()
	cmd := tm.command(ws, env, args...)
	var stdout bytes.Buffer
	all := &locked{}
	cmd.Stdout = io.MultiWriter(&stdout, all)
	cmd.Stderr = all
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan ran, 1)
	go func() {
		err := cmd.Wait()
		done <- ran{stdout.String(), all.String(), err}
	}()
	return cmd, done
}

var leaseID = regexp.MustCompile(`id ([0-9a-f]{12})`)

// TestTwoClonesOneSandbox runs issue 19's team through the compiled magefile: two clones of
// one repository, a bare repository as their shared remote, one sandbox.
func TestTwoClonesOneSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a magefile and runs wrangler")
	}
	tm := newTeam(t)
	const name = "mrrainbowsmoke"
	tn, err := tenant.Load(t.Context(), tm.a, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tn.Resolve(tenant.Staging)
	if err != nil {
		t.Fatal(err)
	}
	// The Worker set up as an operator would: a first deploy, then its required secrets (later
	// deploys' preflight requires them).
	if out, err := tm.run(t, tm.a, nil, "deploy:tenant", name, "staging"); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, out)
	}
	api, err := cfapi.New(cfapi.Config{BaseURL: tm.sb.APIBaseURL(), Token: tm.sb.Server.Token(r.AccountID), AccountID: r.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Put(t.Context(), api, r.WorkerName, []secrets.Value{{Name: "AI_GATEWAY_TOKEN", Value: "t-ai"}, {Name: "WEBHOOK_SIGNING_KEY", Value: "t-wh"}}); err != nil {
		t.Fatal(err)
	}
	slowUpload := func(d time.Duration) {
		tm.sb.Server.ClearFaults()
		tm.sb.Server.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*", Count: 1, Latency: d})
	}
	t.Cleanup(tm.sb.Server.ClearFaults)

	t.Run("simultaneous deploys from two clones: one deploys, the other is refused naming the holder", func(t *testing.T) {
		slowUpload(6 * time.Second)
		_, da := tm.start(t, tm.a, nil, "deploy:tenant", name, "staging", "-force=true", "-json=true")
		_, db := tm.start(t, tm.b, nil, "deploy:tenant", name, "staging", "-force=true", "-json=true")
		rs := []ran{<-da, <-db}
		var won, lost []ran
		for _, r := range rs {
			if r.err == nil {
				won = append(won, r)
			} else {
				lost = append(lost, r)
			}
		}
		if len(won) != 1 || len(lost) != 1 {
			t.Fatalf("won %d, refused %d; want one of each:\n%s\n----\n%s", len(won), len(lost), rs[0].all, rs[1].all)
		}
		rec := deployJSON(t, won[0]).Record
		m := leaseID.FindStringSubmatch(rec.Lease)
		if rec.Status != history.StatusSucceeded || m == nil {
			t.Fatalf("winner's record: status %s, lease %q", rec.Status, rec.Lease)
		}
		if !strings.Contains(lost[0].all, "lease id "+m[1]) {
			t.Fatalf("the refused deploy does not name the holder's lease %s:\n%s", m[1], lost[0].all)
		}
		if ls := tm.status(t, tm.a, name, "staging"); len(ls) != 1 || ls[0].Content.State != lease.Released {
			t.Fatalf("after both ended the lease is %+v, want released", ls)
		}
	})

	t.Run("-wait waits for the other clone's deploy, then deploys", func(t *testing.T) {
		slowUpload(5 * time.Second)
		_, da := tm.start(t, tm.a, nil, "deploy:tenant", name, "staging", "-force=true", "-json=true")
		held := tm.waitHeld(t, name, "staging", da)
		_, db := tm.start(t, tm.b, nil, "deploy:tenant", name, "staging", "-force=true", "-json=true", "-wait=3m")
		ra, rb := <-da, <-db
		if ra.err != nil || rb.err != nil {
			t.Fatalf("A: %v, B: %v\n%s\n----\n%s", ra.err, rb.err, ra.all, rb.all)
		}
		oa, ob := deployJSON(t, ra), deployJSON(t, rb)
		if !strings.Contains(oa.Record.Lease, held.Content.Holder.ID) {
			t.Fatalf("A's record does not name the lease it held: %q", oa.Record.Lease)
		}
		if ob.Record.Status != history.StatusSucceeded || ob.Record.PreviousVersionID != oa.Record.VersionID {
			t.Fatalf("B did not deploy after A: B replaced %s, A put %s live", ob.Record.PreviousVersionID, oa.Record.VersionID)
		}
	})

	t.Run("a rollback in one clone while the other's rollout bakes is refused", func(t *testing.T) {
		tm.sb.Server.ClearFaults()
		_, da := tm.start(t, tm.a, nil, "deploy:tenant", name, "staging", "-force=true", "-json=true", "-rollout=50,100", "-bake=6s")
		held := tm.waitHeld(t, name, "staging", da)
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if live, _ := tm.sb.Server.Live(r.AccountID, r.WorkerName); len(live.Versions) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the rollout never split the traffic")
			}
		}
		out, err := tm.run(t, tm.b, nil, "rollback", name, "staging", "-reason=test")
		if err == nil || !strings.Contains(out, "lease id "+held.Content.Holder.ID) {
			t.Fatalf("rollback during the other clone's bake: %v, want refused naming lease %s:\n%s", err, held.Content.Holder.ID, out)
		}
		if ra := <-da; ra.err != nil {
			t.Fatalf("the rollout in A: %v\n%s", ra.err, ra.all)
		}
	})

	t.Run("a holder killed with kill -9: its lease expires and is taken over, the killed attempt recorded", func(t *testing.T) {
		short := []string{lease.EnvTTL + "=4s"}
		slowUpload(20 * time.Second)
		ca, da := tm.start(t, tm.a, short, "deploy:tenant", name, "staging", "-force=true")
		held := tm.waitHeld(t, name, "staging", da)
		time.Sleep(time.Second) // into the hung upload
		if err := syscall.Kill(-ca.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-da
		tm.sb.Server.ClearFaults()
		out, err := tm.run(t, tm.b, short, "deploy:tenant", name, "staging", "-force=true", "-json=true", "-wait=1m")
		if err != nil {
			t.Fatalf("B after A was killed: %v\n%s", err, out)
		}
		if !strings.Contains(out, "took over the expired lease "+held.Content.Holder.ID) {
			t.Fatalf("B's record does not say whose lease it took over (%s):\n%s", held.Content.Holder.ID, out)
		}
		// A's next run records what its killed attempt left.
		if out, err := tm.run(t, tm.a, nil, "deploy:tenant", name, "staging", "-force=true"); err != nil {
			t.Fatalf("A's next deploy: %v\n%s", err, out)
		}
		es, err := history.Open(sandboxctl.PathsFor(tm.a).Records).Entries(name, "staging")
		if err != nil {
			t.Fatal(err)
		}
		interrupted := 0
		for _, e := range es {
			if e.Record.Status == history.StatusInterrupted {
				interrupted++
			}
		}
		if interrupted != 1 {
			t.Fatalf("%d interrupted records in A, want the killed attempt's", interrupted)
		}
	})

	t.Run("two breakers racing: one wins", func(t *testing.T) {
		slowUpload(10 * time.Second)
		_, da := tm.start(t, tm.a, nil, "deploy:tenant", name, "staging", "-force=true")
		held := tm.waitHeld(t, name, "staging", da)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		outs := make([]string, 2)
		for i, ws := range []workspace.Workspace{tm.a, tm.b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = tm.run(t, ws, nil, "lease:break", name, "staging", "-id="+held.Content.Holder.ID, "-force=true")
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("want exactly one breaker to win: %v / %v\n%s\n----\n%s", errs[0], errs[1], outs[0], outs[1])
		}
		ls := tm.status(t, tm.b, name, "staging")
		if len(ls) != 1 || ls[0].Content.State != lease.Broken || ls[0].Content.Replaced == nil || ls[0].Content.Replaced.ID != held.Content.Holder.ID {
			t.Fatalf("the broken lease does not name whose it was: %+v", ls)
		}
		// The holder finds out before its next change to Cloudflare.
		if ra := <-da; ra.err == nil || !strings.Contains(ra.all, "no longer holds its lease") {
			t.Fatalf("the broken holder went on: %v\n%s", ra.err, ra.all)
		}
	})

	t.Run("records from both clones form one chain on the shared rehearsal branch", func(t *testing.T) {
		// Each leased run pulled the branch before and pushed its record before releasing; the
		// run whose lease was broken could not, so its record goes as an operator sends it.
		if out, err := tm.run(t, tm.a, nil, "records:push"); err != nil {
			t.Fatalf("records:push of the broken run's record: %v\n%s", err, out)
		}
		gitIn(t, tm.b.Root, "fetch", "-q", "origin", "+refs/heads/rehearsal-records:refs/remotes/origin/rehearsal-records")
		if out, err := tm.run(t, tm.b, nil, "history:verify", "-from=rehearsal-records"); err != nil {
			t.Fatalf("history:verify of the shared branch: %v\n%s", err, out)
		}
		onBranch := map[string]bool{}
		for _, f := range strings.Fields(gitIn(t, tm.b.Root, "ls-tree", "--name-only", "origin/rehearsal-records:deployments/")) {
			onBranch[f] = true
		}
		for _, ws := range []workspace.Workspace{tm.a, tm.b} {
			es, err := history.Open(sandboxctl.PathsFor(ws).Records).Entries(name, "staging")
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == 0 {
				t.Fatalf("no records in %s", ws.Root)
			}
			for _, e := range es {
				if !onBranch[filepath.Base(e.Path)] {
					t.Errorf("%s's record %s is not on the shared branch", ws.Root, filepath.Base(e.Path))
				}
				if !e.Record.Rehearsal {
					t.Errorf("%s is not marked as a rehearsal's record", filepath.Base(e.Path))
				}
			}
		}
	})

	t.Run("records:push with the sandbox running pushes nothing to deploy-records", func(t *testing.T) {
		out, err := tm.run(t, tm.a, nil, "records:push", "-branch=deploy-records")
		if err == nil || !strings.Contains(out, "refuses a rehearsal") {
			t.Fatalf("records:push -branch=deploy-records while rehearsing: %v\n%s", err, out)
		}
		if got := gitIn(t, tm.a.Root, "ls-remote", "origin", "refs/heads/deploy-records"); got != "" {
			t.Fatalf("deploy-records exists on the remote: %s", got)
		}
	})
}

// locked is a buffer two writers (stdout and stderr) share.
type locked struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *locked) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
