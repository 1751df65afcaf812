package sandboxworld

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Seed deploys an equivalent Worker for every tenant of w in staging through the sandbox API
// (one wrangler build in all) and returns each tenant's drift input: a world where `drift all
// staging` is in sync, for benchmarks and for tests of what reads the fleet. It builds the
// first tenant's bundle, uploads an equivalent Worker for every tenant (its own name, vars
// and bindings), and sets its crons and required secrets.
func (w *World) Seed(ctx context.Context, log *slog.Logger) (map[string]drift.Input, error) {
	first := w.Tenants[0]
	tpl, err := tenant.Load(ctx, w.WS, first.Name)
	if err != nil {
		return nil, err
	}
	r, err := tpl.Resolve(tenant.Staging)
	if err != nil {
		return nil, err
	}
	b, err := wrangler.New(w.WS, log).Build(ctx, wrangler.Invocation{ConfigPath: tpl.WranglerPath(), Env: "staging", AccountID: r.AccountID},
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
	var errs []error
	var g errgroup.Group
	g.SetLimit(16)
	for _, t := range w.Tenants {
		g.Go(func() error {
			in, err := seedOne(ctx, w, t, first.Name, b, code, tpl.Config.RequiredSecrets, r.Crons)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("seed %s: %w", t.Name, err))
				return nil
			}
			inputs[t.Name] = in
			return nil
		})
	}
	_ = g.Wait() // every tenant's error is in errs
	return inputs, errors.Join(errs...)
}

func seedOne(ctx context.Context, w *World, t Tenant, template string, b wrangler.Bundle, code []byte, secrets, crons []string) (drift.Input, error) {
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

func call(ctx context.Context, w *World, t Tenant, method, url, contentType string, body []byte) error {
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

// StatusOptions are fleetstatus options over a seeded world: the seeded inputs, health through
// the world's edge, records from the world's records folder.
func (w *World) StatusOptions(inputs map[string]drift.Input) fleetstatus.Options {
	return fleetstatus.Options{
		Tenants: w.Names(), Envs: []tenant.Env{tenant.Staging},
		Prepare: func(ctx context.Context, t string, _ tenant.Env) (drift.Input, error) { return inputs[t], nil },
		Records: history.Open(w.WS.DeploymentsDir()).ReadableOf,
		Probe: func(ctx context.Context, name, env string) (health.Check, error) {
			t, err := tenant.Load(ctx, w.WS, name)
			if err != nil {
				return health.Check{}, err
			}
			u, err := t.HealthURL(tenant.Env(env))
			if err != nil {
				return health.Check{}, err
			}
			return health.Check{URL: u, Expect: t.Config.HealthCheck.Expect, Client: w.HTTPClient}, nil
		},
	}
}
