package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// fakeFleet is a Task whose outcome per tenant is scripted; it records what started.
type fakeFleet struct {
	mu      sync.Mutex
	started []string
	result  map[string]Status
	// gate, when set, holds every task until it is closed, so concurrency can be observed.
	gate    chan struct{}
	running int
	peak    int
}

func (f *fakeFleet) task(ctx context.Context, tenant string, note Note) Outcome {
	f.mu.Lock()
	f.started = append(f.started, tenant)
	f.running++
	f.peak = max(f.peak, f.running)
	f.mu.Unlock()
	note("deploy", "uploading")
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
	st := f.result[tenant]
	if st == "" {
		st = Succeeded
	}
	o := Outcome{Status: st, Version: "v-" + tenant, URL: "https://" + tenant + ".example", Duration: time.Millisecond}
	if st.Failure() {
		o.Error = tenant + " broke"
	}
	return o
}

func statuses(s Summary) map[string]Status {
	m := map[string]Status{}
	for _, o := range s.Outcomes {
		m[o.Tenant] = o.Status
	}
	return m
}

func TestRunScheduling(t *testing.T) {
	tenants := []string{"a", "b", "c", "d"}
	tests := []struct {
		name        string
		canary      string
		opt         Options
		result      map[string]Status
		wantStarted []string
		want        map[string]Status
		wantErr     bool
	}{
		{name: "sequential all succeed", result: nil, wantStarted: []string{"a", "b", "c", "d"},
			want: map[string]Status{"a": Succeeded, "b": Succeeded, "c": Succeeded, "d": Succeeded}},
		{name: "sequential stops at first failure", result: map[string]Status{"b": Failed}, wantStarted: []string{"a", "b"},
			want: map[string]Status{"a": Succeeded, "b": Failed, "c": Skipped, "d": Skipped}, wantErr: true},
		{name: "continue on error runs the rest", opt: Options{ContinueOnError: true}, result: map[string]Status{"b": RolledBack},
			wantStarted: []string{"a", "b", "c", "d"}, want: map[string]Status{"a": Succeeded, "b": RolledBack, "c": Succeeded, "d": Succeeded}, wantErr: true},
		{name: "unchanged is not a failure", result: map[string]Status{"a": Unchanged}, wantStarted: []string{"a", "b", "c", "d"},
			want: map[string]Status{"a": Unchanged, "b": Succeeded, "c": Succeeded, "d": Succeeded}},
		{name: "canary first then the rest", canary: "c", wantStarted: []string{"c", "a", "b", "d"},
			want: map[string]Status{"a": Succeeded, "b": Succeeded, "c": Succeeded, "d": Succeeded}},
		{name: "failing canary stops the fleet even with continueOnError", canary: "c", opt: Options{ContinueOnError: true, Parallel: 4},
			result: map[string]Status{"c": Failed}, wantStarted: []string{"c"},
			want: map[string]Status{"a": Skipped, "b": Skipped, "c": Failed, "d": Skipped}, wantErr: true},
		{name: "waves: the canary alone first, then the rest", canary: "c", opt: Options{Waves: []int{1, 4}, Parallel: 2},
			wantStarted: []string{"c", "a", "b", "d"}, want: map[string]Status{"a": Succeeded, "b": Succeeded, "c": Succeeded, "d": Succeeded}},
		{name: "waves: a failed canary stops the next wave", canary: "c", opt: Options{Waves: []int{1, 4}, Parallel: 4},
			result: map[string]Status{"c": Failed}, wantStarted: []string{"c"},
			want: map[string]Status{"a": Skipped, "b": Skipped, "c": Failed, "d": Skipped}, wantErr: true},
		{name: "waves: a failure lets its wave finish and stops the next", opt: Options{Waves: []int{1, 2, 4}},
			result: map[string]Status{"b": RolledBack}, wantStarted: []string{"a", "b"},
			want: map[string]Status{"a": Succeeded, "b": RolledBack, "c": Skipped, "d": Skipped}, wantErr: true},
		{name: "waves: continueOnError goes on", opt: Options{Waves: []int{1, 2, 4}, ContinueOnError: true},
			result: map[string]Status{"a": Failed}, wantStarted: []string{"a", "b", "c", "d"},
			want: map[string]Status{"a": Failed, "b": Succeeded, "c": Succeeded, "d": Succeeded}, wantErr: true},
		{name: "interrupted counts as failure", result: map[string]Status{"a": Interrupted}, wantStarted: []string{"a"},
			want: map[string]Status{"a": Interrupted, "b": Skipped, "c": Skipped, "d": Skipped}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFleet{result: tc.result}
			sel := Selection{Env: "staging", Tenants: tenants, Canary: tc.canary}
			sum := Run(context.Background(), sel, f.task, tc.opt)
			if got := statuses(sum); !mapsEqual(got, tc.want) {
				t.Errorf("statuses = %v, want %v", got, tc.want)
			}
			started, want := f.started, tc.wantStarted
			if tc.opt.Parallel > 1 && len(started) > 1 && len(want) > 1 {
				// Tenants of one wave started at once begin in any order: only the first
				// (the canary, alone in its wave) is in a fixed place.
				started = append(started[:1:1], slices.Sorted(slices.Values(started[1:]))...)
				want = append(want[:1:1], slices.Sorted(slices.Values(want[1:]))...)
			}
			if !slices.Equal(started, want) {
				t.Errorf("started = %v, want %v", f.started, tc.wantStarted)
			}
			if (sum.Err() != nil) != tc.wantErr {
				t.Errorf("Err() = %v, want error %v", sum.Err(), tc.wantErr)
			}
			for i, o := range sum.Outcomes {
				if len(tc.opt.Waves) > 0 && o.Status != Skipped && o.Wave == 0 {
					t.Errorf("%s ran in no wave", o.Tenant)
				}
				if o.Tenant != tenants[i] {
					t.Errorf("outcome %d is %s, want selection order %s", i, o.Tenant, tenants[i])
				}
				if o.Status == Skipped && o.Error == "" {
					t.Errorf("%s skipped without a reason", o.Tenant)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]Status) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRunParallelRunsNAtOnce(t *testing.T) {
	f := &fakeFleet{gate: make(chan struct{})}
	tenants := []string{"a", "b", "c", "d", "e"}
	done := make(chan Summary)
	go func() {
		done <- Run(context.Background(), Selection{Env: "staging", Tenants: tenants}, f.task, Options{Parallel: 3})
	}()
	// Wait until three tasks are inside the gate; a fourth must not start while they are held.
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := f.running
		f.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d tasks running at once, want 3", n)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	if len(f.started) != 3 {
		t.Errorf("%d tasks started while 3 were held, want 3", len(f.started))
	}
	f.mu.Unlock()
	close(f.gate)
	sum := <-done
	if f.peak != 3 {
		t.Errorf("peak concurrency %d, want 3", f.peak)
	}
	if sum.Err() != nil || len(f.started) != 5 {
		t.Errorf("err=%v started=%v", sum.Err(), f.started)
	}
}

func TestRunParallelStopsStartingAfterFailure(t *testing.T) {
	f := &fakeFleet{result: map[string]Status{"a": Failed}}
	tenants := []string{"a", "b", "c", "d", "e", "f"}
	sum := Run(context.Background(), Selection{Env: "staging", Tenants: tenants}, f.task, Options{Parallel: 2})
	st := statuses(sum)
	if st["a"] != Failed {
		t.Fatalf("a = %s", st["a"])
	}
	// a and b start together; after a fails at most the one already-claimed slot may run.
	if len(f.started) > 3 {
		t.Errorf("started %v after the first failure, want at most 3", f.started)
	}
	skipped := 0
	for _, o := range sum.Outcomes {
		if o.Status == Skipped {
			skipped++
			if !strings.Contains(o.Error, "a failed") {
				t.Errorf("%s skipped for %q, want the reason to name a", o.Tenant, o.Error)
			}
		}
	}
	if skipped+len(f.started) != len(tenants) {
		t.Errorf("skipped %d + started %d != %d", skipped, len(f.started), len(tenants))
	}
}

func TestRunCancelledSkipsUnstarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	task := func(ctx context.Context, tenant string, note Note) Outcome {
		cancel()
		return Outcome{Status: Interrupted, Error: "interrupted"}
	}
	sum := Run(ctx, Selection{Env: "staging", Tenants: []string{"a", "b"}}, task, Options{ContinueOnError: true})
	st := statuses(sum)
	if st["a"] != Interrupted || st["b"] != Skipped {
		t.Fatalf("statuses %v", st)
	}
	if !strings.Contains(sum.Outcomes[1].Error, "interrupted") {
		t.Errorf("skip reason %q", sum.Outcomes[1].Error)
	}
}

func TestRunPanickingTaskFailsOnlyThatTenant(t *testing.T) {
	task := func(ctx context.Context, tenant string, note Note) Outcome {
		if tenant == "b" {
			panic("boom")
		}
		return Outcome{Status: Succeeded}
	}
	sum := Run(context.Background(), Selection{Env: "staging", Tenants: []string{"a", "b", "c"}}, task, Options{ContinueOnError: true})
	st := statuses(sum)
	if st["a"] != Succeeded || st["b"] != Failed || st["c"] != Succeeded {
		t.Fatalf("statuses %v", st)
	}
	if !strings.Contains(sum.Outcomes[1].Error, "boom") {
		t.Errorf("error %q", sum.Outcomes[1].Error)
	}
}

func TestProgressOneLinePerStateChange(t *testing.T) {
	var b bytes.Buffer
	f := &fakeFleet{result: map[string]Status{"b": Failed}}
	sel := Selection{Env: "staging", Tenants: []string{"a", "b", "c"}}
	Run(context.Background(), sel, f.task, Options{Progress: report.NewProgress(&b, sel.Tenants)})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	// a: started, deploy, succeeded; b: started, deploy, failed; c: skipped.
	if len(lines) != 7 {
		t.Fatalf("%d progress lines, want 7:\n%s", len(lines), b.String())
	}
	for _, want := range []string{"] a  started", "] a  deploy  uploading", "] a  succeeded", "] b  failed", "b broke", "] c  skipped"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, b.String())
		}
	}
}

func TestProgressAnnouncesEachWave(t *testing.T) {
	var b bytes.Buffer
	f := &fakeFleet{result: map[string]Status{}}
	sel := Selection{Env: "staging", Tenants: []string{"a", "b", "c"}, Canary: "c"}
	Run(context.Background(), sel, f.task, Options{Waves: []int{1, 3}, Progress: report.NewProgress(&b, sel.Tenants)})
	out := b.String()
	first, second := strings.Index(out, "wave 1 of 2: 1 tenant(s): c"), strings.Index(out, "wave 2 of 2: 2 tenant(s): a, b")
	if first < 0 || second < first || strings.Index(out, "] a  started") < second {
		t.Errorf("the waves are not announced before their tenants start:\n%s", out)
	}
}

func TestSummaryOutputs(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "b.log")
	var log strings.Builder
	for i := range 60 {
		log.WriteString("\x1b[31mline " + strings.Repeat("x", i%3) + string(rune('A'+i%26)) + "\x1b[0m\n")
	}
	log.WriteString("✘ [ERROR] the last words\n")
	if err := os.WriteFile(logPath, []byte(log.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := Summary{Env: "staging", Parallel: 2, Duration: 3 * time.Second, Outcomes: []Outcome{
		{Tenant: "a", Status: Succeeded, Version: "v1", URL: "https://a.example", Duration: time.Second, DurationMS: 1000},
		{Tenant: "b", Status: RolledBack, Error: "deploy b/staging: verify: unhealthy\nrolled back to v0", LogPath: logPath, Duration: 2 * time.Second},
		{Tenant: "c", Status: Skipped, Error: "not started: b rolled_back"},
	}}

	var text bytes.Buffer
	if err := sum.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{"── b: rolled_back ──", "rolled back to v0", "last 40 of 61 lines", "✘ [ERROR] the last words",
		"deploy:all staging: 1 succeeded, 1 rolled_back, 1 skipped", "TENANT  STATUS", "https://a.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "── a") {
		t.Errorf("text has colour or a succeeded tenant's log:\n%s", out)
	}

	var js bytes.Buffer
	if err := sum.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Env     string `json:"env"`
		Failed  int    `json:"failed"`
		OK      bool   `json:"ok"`
		Tenants []struct {
			Tenant, Status, URL string
			DurationMS          int64 `json:"duration_ms"`
		} `json:"tenants"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if doc.Env != "staging" || doc.Failed != 1 || doc.OK || len(doc.Tenants) != 3 || doc.Tenants[1].Status != "rolled_back" || doc.Tenants[0].DurationMS != 1000 {
		t.Errorf("JSON doc %+v", doc)
	}

	md := sum.Markdown()
	if !strings.Contains(md, "| b | rolled_back |") || !strings.Contains(md, "<summary>b: rolled_back</summary>") {
		t.Errorf("markdown:\n%s", md)
	}
	if err := sum.Err(); err == nil || !strings.Contains(err.Error(), "1 of 3 tenants failed: b (rolled_back)") {
		t.Errorf("Err() = %v", err)
	}
}

// Each tenant's wave is in the summary table, and the bake separates the waves.
func TestRunWavesBakeAndSummary(t *testing.T) {
	f := &fakeFleet{}
	sel := Selection{Env: "staging", Tenants: []string{"a", "b", "c"}, Canary: "b"}
	start := time.Now()
	sum := Run(context.Background(), sel, f.task, Options{Waves: []int{1, 3}, Bake: 200 * time.Millisecond, Parallel: 2})
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("the waves took %s, less than the bake", d)
	}
	waves := map[string]int{}
	for _, o := range sum.Outcomes {
		waves[o.Tenant] = o.Wave
	}
	if waves["b"] != 1 || waves["a"] != 2 || waves["c"] != 2 {
		t.Errorf("waves = %v", waves)
	}
	var b bytes.Buffer
	if err := sum.Table().Text(&b, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "WAVE") {
		t.Errorf("the summary table has no wave column:\n%s", b.String())
	}
}
