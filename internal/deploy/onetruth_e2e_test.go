package deploy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
)

// syncHook runs fn in the writer's goroutine the first time a progress line contains trigger:
// the run does not go on until fn is done, so the fault lands exactly between two steps.
type syncHook struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	fn      func()
	done    bool
}

func (h *syncHook) Write(b []byte) (int, error) {
	h.mu.Lock()
	h.buf.Write(b)
	fire := !h.done && strings.Contains(h.buf.String(), h.trigger)
	if fire {
		h.done = true
	}
	h.mu.Unlock()
	if fire {
		h.fn()
	}
	return len(b), nil
}

func (h *syncHook) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

// Issue 21 item 1, one end, one truth: a version that turns unhealthy at any point after its
// verify (before the post-deploy plugins and annotate, after annotate) is caught by the last
// health check, which runs before the record is written: the run fails (exit 1), the record
// says rolled_back, and the version live is the previous one. Unhealthy after the record
// would be a later incident, not this run's.
func TestUnhealthyAfterVerifyEndsRolledBack(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	w.firstDeploy(t, tn, worker)
	for i, point := range []string{": verify ", ": annotate "} {
		t.Run(strings.Trim(point, ": "), func(t *testing.T) {
			v1 := w.live(t, tn, worker)
			w.bumpCode(t, "onetruth"+string(rune('a'+i)))
			hook := &syncHook{trigger: point, fn: func() {
				if v := w.live(t, tn, worker); v != v1 {
					w.sb.MarkUnhealthy(v)
				}
			}}
			out, err := Run(context.Background(), w.opts(t, tn, "staging", hook))
			if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack {
				t.Fatalf("unhealthy after %q: err %v, record %s (%s)\n%s", point, err, out.Record.Status, out.Record.Error, hook.String())
			}
			if got := w.live(t, tn, worker); got != v1 {
				t.Fatalf("live %s after the rollback, want the previous %s", got, v1)
			}
			if !strings.Contains(out.Record.Error, "final health check") || !strings.Contains(hook.String(), ": health ") {
				t.Errorf("the record does not say the final check failed: %s\n%s", out.Record.Error, hook.String())
			}
			es, _ := history.Open(w.ws.DeploymentsDir()).Entries(tn, "staging")
			if len(es) == 0 || es[0].Record.Status != history.StatusRolledBack || es[0].Record.VersionID != out.Record.VersionID {
				t.Fatalf("newest record on disk is not the rolled_back one")
			}
		})
	}
	t.Run("unchanged but unhealthy", func(t *testing.T) {
		// The tree deployed and healthy first, so that the next run has nothing to upload.
		if _, err := Run(context.Background(), w.opts(t, tn, "staging", nil)); err != nil {
			t.Fatal(err)
		}
		v := w.live(t, tn, worker)
		w.sb.MarkUnhealthy(v)
		t.Cleanup(w.sb.ClearUnhealthy)
		var progress bytes.Buffer
		out, err := Run(context.Background(), w.opts(t, tn, "staging", &progress))
		if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusFailed || out.Record.VersionID != v {
			t.Fatalf("an unchanged but unhealthy live version: err %v, record %s %s (%s)\n%s", err, out.Record.Status, out.Record.VersionID, out.Record.Error, progress.String())
		}
		if got := w.live(t, tn, worker); got != v {
			t.Fatalf("an unchanged deploy changed what is live: %s, want %s", got, v)
		}
	})
}

// Issue 19 item 5: somebody else's version goes live while this run annotates (a dashboard
// click, an old tool). Annotate does not deploy over it, the automatic rollback does not undo
// it, and the record does not call this run succeeded.
func TestSomebodyElsesVersionIsNeverWrittenOver(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "rainbowsmokeofficial", "rainbowsmokeofficial-api-staging"
	w.firstDeploy(t, tn, worker)
	v1 := w.live(t, tn, worker)
	w.bumpCode(t, "theirs")
	hook := &syncHook{trigger: ": verify ", fn: func() {
		// Theirs: the version that was live before ours, put back by hand.
		if _, err := w.api(tn).DeployVersion(context.Background(), worker, v1, "by hand", true); err != nil {
			t.Error(err)
		}
	}}
	out, err := Run(context.Background(), w.opts(t, tn, "staging", hook))
	if !errors.Is(err, ErrFailed) || out.Record.Status == history.StatusSucceeded {
		t.Fatalf("err %v, record %s (%s)\n%s", err, out.Record.Status, out.Record.Error, hook.String())
	}
	if got := w.live(t, tn, worker); got != v1 {
		t.Fatalf("live %s, want theirs (%s) left alone", got, v1)
	}
	if !strings.Contains(out.Record.Error, cfapi.ErrLiveChanged.Error()) {
		t.Errorf("the record does not say the live deployment changed under it: %s", out.Record.Error)
	}
}

// Issue 21 item 7: the upload fails and the API cannot be read afterwards. Nothing is rolled
// back blind and the record says what is known, never "ROLLBACK … FAILED … may still be live"
// about a version that never went live.
func TestUnreadableAPIAfterAFailedUploadSaysWhatIsKnown(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "rainbowsmokeofficial", "rainbowsmokeofficial-api-staging"
	w.firstDeploy(t, tn, worker)
	v1 := w.live(t, tn, worker)
	n := w.versions(t, tn, worker)
	w.bumpCode(t, "unreadable")
	hook := &syncHook{trigger: ": lock ", fn: func() {
		w.sb.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*", Status: 400, Code: 10021, Message: "refused by the test", Count: 1})
		w.sb.AddFault(sandbox.Fault{Method: "GET", Path: "/accounts/*/workers/scripts/*/deployments", Status: 503, Count: 1000})
	}}
	out, err := Run(context.Background(), w.opts(t, tn, "staging", hook))
	w.sb.ClearFaults()
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusFailed {
		t.Fatalf("err %v, record %s (%s)\n%s", err, out.Record.Status, out.Record.Error, hook.String())
	}
	if strings.Contains(out.Record.Error, "ROLLBACK") || strings.Contains(out.Record.Error, "may still be live") {
		t.Errorf("the record calls it a failed rollback: %s", out.Record.Error)
	}
	if !strings.Contains(out.Record.Error, "nothing was uploaded") && !strings.Contains(out.Record.Error, "fate is unknown") {
		t.Errorf("the record does not say what is known: %s", out.Record.Error)
	}
	if got := w.live(t, tn, worker); got != v1 || w.versions(t, tn, worker) != n {
		t.Errorf("live %s (want %s), %d new versions", got, v1, w.versions(t, tn, worker)-n)
	}
}
