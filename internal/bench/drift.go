package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// DriftAll measures `drift all staging` over o.DriftTenants generated tenants with
// o.DriftLatency on every API request: o.DriftParallel tenants at once against one at a time,
// and the API requests spent per tenant.
//
// Every generated tenant deploys the same code, so one wrangler build serves them all: the
// bundle is built once and the sandbox is seeded through its API (as wrangler's first deploy
// would upload it). What is timed is what differs between the two variants: reading each
// tenant's live state and comparing it.
func DriftAll(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	w, inputs, closeAll, err := seededWorld(ctx, repo, o, "drift", "drift")
	if err != nil {
		return nil, err
	}
	defer closeAll()
	prepare := func(ctx context.Context, t string, _ tenant.Env) (drift.Input, error) { return inputs[t], nil }
	names := w.Names()

	check := func(parallel int) (time.Duration, int, error) {
		before := requests(w)
		start := time.Now()
		reps := drift.CheckAll(ctx, names, tenant.Staging, prepare, parallel, nil)
		took := time.Since(start)
		for _, r := range reps {
			if r.Status != drift.InSync {
				return 0, 0, fmt.Errorf("%s is %s (%s %+v): the benchmark world is not in sync", r.Tenant, r.Status, r.Error, r.Changes)
			}
		}
		return took, requests(w) - before, nil
	}
	w.Sandbox.SetLatency(o.DriftLatency)
	seq, par, spent, err := sideBySide(o.Progress, "drift", o.DriftRounds, o.DriftParallel, check)
	if err != nil {
		return nil, err
	}
	ms, mp := median(seq), median(par)
	perTenant := float64(spent) / float64(len(names))
	return []Figure{
		{"drift_all.tenants", fmt.Sprint(len(names))},
		{"drift_all.api_latency", o.DriftLatency.String()},
		{fmt.Sprintf("drift_all.parallel%d_vs_sequential", o.DriftParallel), ratio(mp, ms) + " (goal <= 0.15)"},
		{"drift_all.sequential.median", seconds(ms)},
		{fmt.Sprintf("drift_all.parallel%d.median", o.DriftParallel), seconds(mp)},
		{"drift_all.sequential.runs", list(seq)},
		{fmt.Sprintf("drift_all.parallel%d.runs", o.DriftParallel), list(par)},
		{"drift.api_requests_per_tenant", fmt.Sprintf("%.1f (goal <= 8)", perTenant)},
	}, nil
}

func requests(w *sandboxworld.World) int {
	n := 0
	for _, t := range w.Tenants {
		n += w.Sandbox.RequestCount(t.Token)
	}
	return n
}

// seededWorld generates o.DriftTenants tenants in a work folder named for the benchmark,
// seeds the sandbox with them (seedDrift) and returns each tenant's drift input; close
// undoes both, on success only (on an error nothing is left to close).
func seededWorld(ctx context.Context, repo workspace.Workspace, o Options, name, label string) (w *sandboxworld.World, inputs map[string]drift.Input, closeAll func(), err error) {
	dir, cleanup, err := workDir(o.Dir, name)
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(o.Progress, "bench %s: generating %d tenants and seeding the sandbox\n", label, o.DriftTenants)
	w, err = sandboxworld.New(repo, dir, sandboxworld.Options{Generate: o.DriftTenants})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if inputs, err = seedDrift(ctx, w, o); err != nil {
		w.Close()
		cleanup()
		return nil, nil, nil, err
	}
	return w, inputs, func() { w.Close(); cleanup() }, nil
}

// seedDrift builds the first tenant's bundle, uploads an equivalent Worker for every tenant
// (its own name, vars and bindings), sets its crons and required secrets, and returns each
// tenant's drift input.
func seedDrift(ctx context.Context, w *sandboxworld.World, o Options) (map[string]drift.Input, error) {
	first := w.Tenants[0]
	tpl, err := tenant.Load(ctx, w.WS, first.Name)
	if err != nil {
		return nil, err
	}
	r, err := tpl.Resolve(tenant.Staging)
	if err != nil {
		return nil, err
	}
	b, err := wrangler.New(w.WS, o.Log).Build(ctx, wrangler.Invocation{ConfigPath: tpl.WranglerPath(), Env: "staging", AccountID: r.AccountID},
		filepath.Join(w.WS.StateDir(), "bench-bundle"))
	if err != nil {
		return nil, err
	}
	code, err := os.ReadFile(b.MainModule)
	if err != nil {
		return nil, err
	}
	inputs := map[string]drift.Input{}
	var mu sync.Mutex
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var errs []error
	for _, t := range w.Tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			in, err := seedOne(ctx, w, t, first.Name, b, code, tpl.Config.RequiredSecrets, r.Crons)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("seed %s: %w", t.Name, err))
				return
			}
			inputs[t.Name] = in
		}()
	}
	wg.Wait()
	return inputs, errors.Join(errs...)
}

func seedOne(ctx context.Context, w *sandboxworld.World, t sandboxworld.Tenant, template string, b wrangler.Bundle, code []byte, secrets, crons []string) (drift.Input, error) {
	worker := t.Name + "-api-staging"
	meta := strings.ReplaceAll(string(b.Metadata), template, t.Name)
	var m struct {
		MainModule string `json:"main_module"`
	}
	if err := json.Unmarshal([]byte(meta), &m); err != nil {
		return drift.Input{}, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("metadata", meta); err != nil {
		return drift.Input{}, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, m.MainModule, m.MainModule))
	h.Set("Content-Type", "application/javascript+module")
	part, err := mw.CreatePart(h)
	if err != nil {
		return drift.Input{}, err
	}
	if _, err := part.Write(code); err != nil {
		return drift.Input{}, err
	}
	if err := mw.Close(); err != nil {
		return drift.Input{}, err
	}
	base := w.APIBaseURL + "/accounts/" + t.AccountID + "/workers/scripts/" + worker
	if err := call(ctx, w, t, http.MethodPut, base+"?excludeScript=true", mw.FormDataContentType(), body.Bytes()); err != nil {
		return drift.Input{}, err
	}
	// The workers.dev route, as wrangler's first deploy turns it on: health answers there.
	if err := call(ctx, w, t, http.MethodPost, base+"/subdomain", "application/json", []byte(`{"enabled":true}`)); err != nil {
		return drift.Input{}, err
	}
	var sched []map[string]string
	for _, c := range crons {
		sched = append(sched, map[string]string{"cron": c})
	}
	sj, _ := json.Marshal(sched)
	if err := call(ctx, w, t, http.MethodPut, base+"/schedules", "application/json", sj); err != nil {
		return drift.Input{}, err
	}
	for _, s := range secrets {
		js, _ := json.Marshal(map[string]string{"name": s, "text": "bench", "type": "secret_text"})
		if err := call(ctx, w, t, http.MethodPut, base+"/secrets", "application/json", js); err != nil {
			return drift.Input{}, err
		}
	}
	d := drift.Desired{CodeSHA256: b.SHA256, RequiredSecrets: secrets, Crons: crons}
	if err := d.FromUploadMetadata([]byte(meta)); err != nil {
		return drift.Input{}, err
	}
	api, err := cfapi.New(cfapi.Config{BaseURL: w.APIBaseURL, Token: t.Token, AccountID: t.AccountID, HTTPClient: w.HTTPClient})
	if err != nil {
		return drift.Input{}, err
	}
	return drift.Input{Worker: worker, Desired: d, Reader: api}, nil
}

func call(ctx context.Context, w *sandboxworld.World, t sandboxworld.Tenant, method, url, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	req.Header.Set("Content-Type", contentType)
	res, err := w.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var env struct {
		Success bool              `json:"success"`
		Errors  []json.RawMessage `json:"errors"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || !env.Success {
		return fmt.Errorf("%s %s: status %d, errors %s (%v)", method, strings.TrimPrefix(url, w.APIBaseURL), res.StatusCode, env.Errors, err)
	}
	return nil
}

// workDir is a fresh folder under dir (the system's temporary folder when dir is ""), and
// how to remove it.
func workDir(dir, name string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
	}
	p, err := os.MkdirTemp(dir, "bench-"+name+"-")
	if err != nil {
		return "", nil, err
	}
	return p, func() { _ = os.RemoveAll(p) }, nil
}
