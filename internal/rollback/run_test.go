package rollback

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// world is a fake Cloudflare account with one Worker, plus fake records, health and lock.
type world struct {
	deps     []Deployment
	versions []Version
	records  []Record
	written  []Outcome
	secrets  []string // changed since any rollback target
	unhealth bool
	locked   bool
	released int
	acted    int
	reserved int
	listErr  error
	// onAct runs inside Rollback (to cancel the context mid-way, for instance).
	onAct func()
}

func (w *world) Deployments(context.Context) ([]Deployment, error) { return w.deps, nil }
func (w *world) Versions(context.Context) ([]Version, error)       { return w.versions, nil }
func (w *world) Version(_ context.Context, id string) (Version, error) {
	for _, v := range w.versions {
		if v.ID == id {
			return v, nil
		}
	}
	return Version{}, errors.New("no such version " + id)
}

func (w *world) Rollback(_ context.Context, _ []string, id, msg string, force bool) ([]string, error) {
	if len(w.secrets) > 0 && !force {
		return nil, &SecretsError{Target: id, Names: w.secrets}
	}
	w.acted++
	if w.onAct != nil {
		w.onAct()
	}
	w.deps = append([]Deployment{dep("new", 99, full(id))}, w.deps...)
	return w.secrets, nil
}

func (w *world) Verify(_ context.Context, id string) (history.Health, error) {
	if w.unhealth {
		return history.Health{ExpectedVersion: id, StatusCode: 503}, errors.New("unhealthy")
	}
	return history.Health{ExpectedVersion: id, SeenVersion: id, StatusCode: 200, OK: true}, nil
}

func (w *world) List(context.Context) ([]Record, error) { return w.records, w.listErr }
func (w *world) Reserve(context.Context, Outcome, []string) (string, error) {
	w.reserved++
	return "", nil
}
func (w *world) Write(_ context.Context, o Outcome) (string, error) {
	w.written = append(w.written, o)
	return "rec.json", nil
}

func (w *world) lock(context.Context) (func() error, error) {
	if w.locked {
		return nil, errors.New("held by pid 1")
	}
	w.locked = true
	return func() error { w.locked = false; w.released++; return nil }, nil
}

func (w *world) parts() Deps {
	return Deps{API: w, Actor: w, Health: w, Records: w, Lock: w.lock}
}

func twoVersionWorld() *world {
	return &world{
		deps:     []Deployment{dep("d2", 2, full("v2")), dep("d1", 1, full("v1"))},
		versions: []Version{{ID: "v2", MigrationTag: "v1"}, {ID: "v1", MigrationTag: "v1"}},
		records: []Record{
			rec("a-1.json", "deploy", "succeeded", "v1", "", 1),
			rec("a-2.json", "deploy", "succeeded", "v2", "", 2),
		},
	}
}

func req() Request {
	return Request{Tenant: "acme", Env: "staging", Worker: "acme-api-staging", Actor: "me"}
}

func TestRunRollsBackVerifiesAndRecords(t *testing.T) {
	w := twoVersionWorld()
	o, err := Run(context.Background(), w.parts(), req())
	if err != nil {
		t.Fatal(err)
	}
	if live, _ := Live(w.deps); live != "v1" {
		t.Errorf("live = %s, want v1", live)
	}
	if o.Status != StatusSucceeded || o.FromVersionID != "v2" || o.ToVersionID != "v1" || o.RecordFile != "rec.json" {
		t.Errorf("outcome = %+v", o)
	}
	if len(w.written) != 1 || w.written[0].Status != StatusSucceeded || w.written[0].Actor != "me" {
		t.Errorf("records written = %+v", w.written)
	}
	if w.locked || w.released != 1 {
		t.Errorf("lock not released once: locked=%v released=%d", w.locked, w.released)
	}
	names := []string{}
	for _, s := range o.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "plan,check,lock,recheck,reserve,rollback,verify" {
		t.Errorf("steps = %s", got)
	}
}

func TestRunAlreadyLiveChangesNothing(t *testing.T) {
	w := twoVersionWorld()
	r := req()
	r.To = "v2"
	o, err := Run(context.Background(), w.parts(), r)
	if err != nil || o.Status != StatusAlreadyLive {
		t.Fatalf("status %s err %v", o.Status, err)
	}
	if w.acted != 0 || len(w.written) != 0 || w.released != 0 {
		t.Errorf("already live acted=%d written=%d locked=%d", w.acted, len(w.written), w.released)
	}
}

// A rollout killed mid-way left v1 with most of the traffic: rolling back to v1 is not
// "already live", it gives v1 all of it.
func TestRunToTheMainVersionOfASplit(t *testing.T) {
	w := twoVersionWorld()
	w.deps = append([]Deployment{dep("d3", 3, Share{VersionID: "v2", Percentage: 10}, Share{VersionID: "v1", Percentage: 90})}, w.deps...)
	r := req()
	r.To = "v1"
	o, err := Run(context.Background(), w.parts(), r)
	if err != nil || o.Status != StatusSucceeded || o.ToVersionID != "v1" || w.acted != 1 {
		t.Fatalf("status %s err %v acted %d", o.Status, err, w.acted)
	}
	if v, whole := w.deps[0].whole(); !whole || v != "v1" {
		t.Errorf("live after the rollback: %+v, want v1 alone", w.deps[0])
	}
}

func TestRunRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*world, *Request)
		want  error
	}{
		{"not listed", func(w *world, r *Request) { r.To = "v0" }, ErrNotListed},
		{"migration", func(w *world, r *Request) { w.versions[0].MigrationTag = "v2" }, ErrMigration},
		{"secrets", func(w *world, r *Request) { w.secrets = []string{"API_KEY"} }, ErrSecretsChanged},
		{"no target", func(w *world, r *Request) { w.records = nil; w.deps = w.deps[:1] }, ErrNoTarget},
		{"never deployed", func(w *world, r *Request) { w.deps = nil }, ErrNotDeployed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := twoVersionWorld()
			r := req()
			c.setup(w, &r)
			before := len(w.deps)
			_, err := Run(context.Background(), w.parts(), r)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), "rollback acme/staging") {
				t.Errorf("error does not name tenant/env: %v", err)
			}
			if len(w.deps) != before || w.locked {
				t.Errorf("refusal changed something: deployments %d->%d, locked %v", before, len(w.deps), w.locked)
			}
			// Like a refused deploy, a refused rollback is an attempt with a record.
			if len(w.written) != 1 || w.written[0].Status != StatusFailed || !strings.HasPrefix(w.written[0].Error, "refused: ") {
				t.Errorf("refusal records = %+v", w.written)
			}
		})
	}
}

func TestRunSecretsNamedAndForced(t *testing.T) {
	w := twoVersionWorld()
	w.secrets = []string{"WEBHOOK_SIGNING_KEY"}
	_, err := Run(context.Background(), w.parts(), req())
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_SIGNING_KEY") || !strings.Contains(err.Error(), "-force=true") {
		t.Fatalf("refusal does not name the secret and the way out: %v", err)
	}
	r := req()
	r.Force = true
	o, err := Run(context.Background(), w.parts(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Forced || strings.Join(o.OverriddenSecrets, ",") != "WEBHOOK_SIGNING_KEY" {
		t.Errorf("forced outcome = %+v", o)
	}
}

func TestRunUnhealthyTargetIsRecordedFailed(t *testing.T) {
	w := twoVersionWorld()
	w.unhealth = true
	o, err := Run(context.Background(), w.parts(), req())
	if err == nil || o.Status != StatusFailed {
		t.Fatalf("status %s err %v", o.Status, err)
	}
	if len(w.written) != 1 || w.written[0].Status != StatusFailed || w.written[0].Error == "" || w.written[0].Health == nil || w.written[0].Health.StatusCode != 503 {
		t.Errorf("record = %+v", w.written)
	}
}

func TestRunLockHeldChangesNothing(t *testing.T) {
	w := twoVersionWorld()
	w.locked = true
	_, err := Run(context.Background(), w.parts(), req())
	if err == nil || !strings.Contains(err.Error(), "pid 1") {
		t.Fatalf("err = %v", err)
	}
	if w.acted != 0 || len(w.written) != 1 || w.written[0].Status != StatusFailed {
		t.Errorf("acted although the lock was held, or left no record: acted %d, records %+v", w.acted, w.written)
	}
}

func TestRunInterruptedIsRecorded(t *testing.T) {
	w := twoVersionWorld()
	ctx, cancel := context.WithCancel(context.Background())
	w.onAct = cancel
	o, err := Run(ctx, w.parts(), req())
	if err == nil || o.Status != StatusInterrupted {
		t.Fatalf("status %s err %v", o.Status, err)
	}
	if len(w.written) != 1 || w.written[0].Status != StatusInterrupted {
		t.Errorf("record = %+v", w.written)
	}
	if w.locked {
		t.Error("lock kept after interruption")
	}
}

// Issue 15: -to needs no history (a damaged or unreadable one does not matter), and without
// -to a damaged record is skipped with a warning naming it.
func TestRunAroundDamagedHistory(t *testing.T) {
	w := twoVersionWorld()
	w.records = append(w.records, Record{File: "a-3.json", Damaged: "not valid JSON: <<<<<<< HEAD"})
	o, err := Run(context.Background(), w.parts(), req())
	if err != nil || o.ToVersionID != "v1" {
		t.Fatalf("without -to: %v, target %s", err, o.ToVersionID)
	}
	if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "a-3.json") {
		t.Errorf("warnings = %v", o.Warnings)
	}
	w = twoVersionWorld()
	w.listErr = errors.New("history: permission denied")
	r := req()
	r.To = "v1"
	if o, err := Run(context.Background(), w.parts(), r); err != nil || o.Status != StatusSucceeded {
		t.Fatalf("-to with an unreadable history: %v %s", err, o.Status)
	}
}
