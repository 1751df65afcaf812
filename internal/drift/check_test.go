package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// fakeReader serves one Worker's live state and counts calls.
type fakeReader struct {
	live     Live
	notFound bool
	fail     string // method name that fails
	calls    atomic.Int32
	delay    time.Duration
}

func (f *fakeReader) hit(name string) error {
	f.calls.Add(1)
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.fail == name {
		return fmt.Errorf("%s: boom", name)
	}
	return nil
}

func (f *fakeReader) LiveDeployment(ctx context.Context, script string) (cfapi.Deployment, error) {
	if err := f.hit("LiveDeployment"); err != nil {
		return cfapi.Deployment{}, err
	}
	if f.notFound {
		return cfapi.Deployment{}, fmt.Errorf("%s: %w", script, cfapi.ErrNotDeployed)
	}
	return cfapi.Deployment{ID: "d1", Versions: []cfapi.TrafficSplit{{VersionID: f.live.VersionID, Percentage: 100}}}, nil
}
func (f *fakeReader) Deployments(ctx context.Context, script string) ([]cfapi.Deployment, error) {
	panic("drift must not list deployments")
}
func (f *fakeReader) Version(ctx context.Context, script, id string) (cfapi.Version, error) {
	if id != f.live.VersionID {
		return cfapi.Version{}, fmt.Errorf("asked for version %s, serving %s", id, f.live.VersionID)
	}
	return cfapi.Version{ID: id, Bindings: f.live.Bindings, CompatibilityDate: f.live.CompatibilityDate, CompatibilityFlags: f.live.CompatibilityFlags}, f.hit("Version")
}
func (f *fakeReader) Versions(ctx context.Context, script string, n int) ([]cfapi.Version, error) {
	panic("drift must not list versions")
}
func (f *fakeReader) Settings(ctx context.Context, script string) (cfapi.Settings, error) {
	panic("drift reads the serving version, not the latest settings")
}
func (f *fakeReader) Schedules(ctx context.Context, script string) ([]cfapi.Schedule, error) {
	var out []cfapi.Schedule
	for _, c := range f.live.Crons {
		out = append(out, cfapi.Schedule{Cron: c})
	}
	return out, f.hit("Schedules")
}
func (f *fakeReader) Secrets(ctx context.Context, script string) ([]cfapi.Secret, error) {
	var out []cfapi.Secret
	for _, s := range f.live.Secrets {
		out = append(out, cfapi.Secret{Name: s, Type: "secret_text"})
	}
	return out, f.hit("Secrets")
}
func (f *fakeReader) ContentSHA256(ctx context.Context, script, id string) (string, error) {
	return f.live.CodeSHA256, f.hit("ContentSHA256")
}
func (f *fakeReader) Subdomain(ctx context.Context) (string, error) { panic("not needed") }
func (f *fakeReader) Script(ctx context.Context, script string) (cfapi.Script, error) {
	s := cfapi.Script{ID: script}
	for _, r := range f.live.Routes {
		s.Routes = append(s.Routes, cfapi.Route{Pattern: r})
	}
	return s, f.hit("Script")
}
func (f *fakeReader) Domains(ctx context.Context, script string) ([]cfapi.Domain, error) {
	var out []cfapi.Domain
	for _, d := range f.live.Domains {
		out = append(out, cfapi.Domain{Hostname: d, Service: script})
	}
	return out, f.hit("Domains")
}

func TestReadLiveUsesAFixedSmallNumberOfRequests(t *testing.T) {
	l := live(t)
	l.Routes, l.Domains = []string{"example.com/*"}, []string{"api.example.com"}
	f := &fakeReader{live: l}
	got, err := ReadLive(context.Background(), f, "w")
	if err != nil {
		t.Fatal(err)
	}
	if n := int(f.calls.Load()); n != RequestsPerTenant || n > 8 {
		t.Errorf("%d requests, want %d (and at most 8)", n, RequestsPerTenant)
	}
	if status, ch := Compare(Desired{CodeSHA256: l.CodeSHA256, Bindings: l.Bindings.WithoutSecrets(), CompatibilityDate: l.CompatibilityDate,
		CompatibilityFlags: l.CompatibilityFlags, Crons: l.Crons, Routes: l.Routes, Domains: l.Domains, RecordedVersion: l.VersionID}, got); status != InSync {
		t.Errorf("read-back state is %s: %+v", status, ch)
	}
}

func TestReadLiveNotDeployedIsOneRequest(t *testing.T) {
	f := &fakeReader{notFound: true}
	got, err := ReadLive(context.Background(), f, "w")
	if err != nil || got.Deployed || f.calls.Load() != 1 {
		t.Fatalf("live=%+v err=%v calls=%d", got, err, f.calls.Load())
	}
}

func TestReadLiveErrorNamesWhatFailed(t *testing.T) {
	f := &fakeReader{live: live(t), fail: "Secrets"}
	_, err := ReadLive(context.Background(), f, "w")
	if err == nil || !strings.Contains(err.Error(), "read live state: ") || !strings.Contains(err.Error(), "Secrets: boom") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckAll(t *testing.T) {
	readers := map[string]*fakeReader{
		"a": {live: live(t)},
		"b": {live: func() Live { l := live(t); l.Crons = []string{"*/5 * * * *"}; return l }()},
		"c": {notFound: true},
		"d": {live: live(t), fail: "ContentSHA256"},
	}
	prepare := func(ctx context.Context, tenant string, env tenant.Env) (Input, error) {
		if tenant == "e" {
			return Input{}, errors.New("credentials for tenant e: API token not set: set CLOUDFLARE_API_TOKEN_E")
		}
		return Input{Worker: tenant + "-api-" + string(env), Desired: desired(t), Reader: readers[tenant]}, nil
	}
	reps := CheckAll(context.Background(), []string{"a", "b", "c", "d", "e"}, "staging", prepare, 3, nil)
	want := []Status{InSync, Drifted, Missing, Error, Error}
	for i, r := range reps {
		if r.Status != want[i] {
			t.Errorf("%s: %s, want %s (%s)", r.Tenant, r.Status, want[i], r.Error)
		}
	}
	if !strings.Contains(reps[4].Error, "CLOUDFLARE_API_TOKEN_E") || !strings.Contains(reps[3].Error, "drift d/staging (d-api-staging): read live state: ") {
		t.Errorf("errors: %q / %q", reps[3].Error, reps[4].Error)
	}
	if ExitCode(reps) != ExitError || ExitCode(reps[:3]) != ExitDrift || ExitCode(reps[:1]) != ExitInSync || ExitCode(nil) != ExitInSync {
		t.Errorf("exit codes %d %d %d", ExitCode(reps), ExitCode(reps[:3]), ExitCode(reps[:1]))
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, reps[:3]); err != nil {
		t.Fatal(err)
	}
	var doc []struct {
		Tenant, Env, Status string
		Changes             map[string][]Change `json:"changes"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if len(doc) != 3 || doc[1].Status != "drifted" || len(doc[1].Changes["added"]) != 1 || doc[1].Changes["added"][0].Actual != "*/5 * * * *" {
		t.Errorf("JSON doc: %+v", doc)
	}
	for _, d := range doc {
		for _, k := range []string{"added", "removed", "changed"} {
			if _, ok := d.Changes[k]; !ok || !strings.Contains(js.String(), `"`+k+`": [`) {
				t.Errorf("%s: changes.%s missing or null in JSON", d.Tenant, k)
			}
		}
	}

	var text bytes.Buffer
	if err := WriteText(&text, reps, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drift staging: 5 tenant(s): 1 in_sync, 1 drifted, 1 missing, 2 error", "b/staging (b-api-staging) drifted (+ only live, - only in the repository, ~ repository -> live):",
		"  + triggers.crons: */5 * * * *", "  - triggers.crons: 0 * * * *", "c-api-staging is not deployed; run `mage deploy:tenant c staging`"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if md := Markdown(reps); !strings.Contains(md, "| b | staging | drifted |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestCheckAllRunsTenantsAtOnce(t *testing.T) {
	var mu sync.Mutex
	running, peak := 0, 0
	prepare := func(ctx context.Context, tenant string, env tenant.Env) (Input, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return Input{Worker: tenant, Desired: desired(t), Reader: &fakeReader{live: live(t)}}, nil
	}
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprint("t", i)
	}
	reps := CheckAll(context.Background(), names, "staging", prepare, 4, nil)
	if peak != 4 {
		t.Errorf("peak concurrency %d, want 4", peak)
	}
	for _, r := range reps {
		if r.Status != InSync {
			t.Errorf("%s: %s %s", r.Tenant, r.Status, r.Error)
		}
	}
}
