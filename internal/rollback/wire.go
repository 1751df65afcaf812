package rollback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Setup is what Wire needs to roll back one tenant/env for real.
type Setup struct {
	Tenant *tenant.Tenant
	Env    tenant.Env
	// BaseURL is the Cloudflare API base (the sandbox's, or real Cloudflare's).
	BaseURL string
	Token   creds.Secret
	// HealthClient sends the health checks; the sandbox's routes workers.dev to its edge.
	HealthClient *http.Client
	// RecordsDir is deployments/; LockDir is where deploys keep their tenant/env locks.
	RecordsDir, LockDir string
	// Provenance is the actor and git state written into the record.
	Provenance history.Provenance
	Log        *slog.Logger
}

// Wire builds the Deps and the worker name for s from the real packages: cfapi reads,
// the deployments API for the act, health.Wait, history records and lock files.
func Wire(s Setup) (Deps, string, error) {
	r, err := s.Tenant.Resolve(s.Env)
	if err != nil {
		return Deps{}, "", err
	}
	url, err := s.Tenant.HealthURL(s.Env)
	if err != nil {
		return Deps{}, "", err
	}
	client, err := cfapi.New(cfapi.Config{BaseURL: s.BaseURL, Token: s.Token.Reveal(), AccountID: r.AccountID, Log: s.Log})
	if err != nil {
		return Deps{}, "", fmt.Errorf("rollback %s/%s: %w", s.Tenant.Name, s.Env, err)
	}
	store := history.Open(s.RecordsDir)
	hc := s.Tenant.Config.HealthCheck
	var held *lock.Lock // set by Lock below, checked by the actor before its write
	d := Deps{
		API:    reads{c: client, script: r.WorkerName},
		Actor:  DeploymentsActor{API: client, Script: r.WorkerName, Held: func(ctx context.Context) error { return held.Check(ctx) }},
		Health: healthCheck{check: health.Check{URL: url, Expect: hc.Expect, Deadline: hc.Deadline(), Client: s.HealthClient}},
		Records: &records{store: store, tenant: s.Tenant.Name, env: string(s.Env), account: r.AccountID, prov: s.Provenance,
			url: url, token: s.Token},
		Lock: func(ctx context.Context) (func() error, error) {
			l, err := lock.Acquire(s.LockDir, s.Tenant.Name, string(s.Env), lock.Options{
				Command: fmt.Sprintf("rollback %s %s", s.Tenant.Name, s.Env), Log: s.Log, Context: ctx})
			if err != nil {
				return nil, err
			}
			held = l
			return l.Release, nil
		},
		Log: s.Log,
	}
	return d, r.WorkerName, nil
}

// reads adapts cfapi to API.
type reads struct {
	c      *cfapi.Client
	script string
}

func (r reads) Deployments(ctx context.Context) ([]Deployment, error) {
	ds, err := r.c.Deployments(ctx, r.script)
	if errors.Is(err, cfapi.ErrNotFound) {
		return nil, nil // the Worker does not exist: no deployments, which Run reports
	}
	if err != nil {
		return nil, err
	}
	out := make([]Deployment, 0, len(ds))
	for _, d := range ds {
		nd := Deployment{ID: d.ID, CreatedOn: d.CreatedOn}
		for _, v := range d.Versions {
			nd.Versions = append(nd.Versions, Share{VersionID: v.VersionID, Percentage: v.Percentage})
		}
		out = append(out, nd)
	}
	return out, nil
}

func (r reads) Versions(ctx context.Context) ([]Version, error) {
	vs, err := r.c.Versions(ctx, r.script, MaxVersions)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		out = append(out, version(v))
	}
	return out, nil
}

func (r reads) Version(ctx context.Context, id string) (Version, error) {
	v, err := r.c.Version(ctx, r.script, id)
	if err != nil {
		return Version{}, err
	}
	return version(v), nil
}

func version(v cfapi.Version) Version {
	return Version{ID: v.ID, Number: v.Number, CreatedOn: v.CreatedOn, TriggeredBy: v.Annotations.TriggeredBy, MigrationTag: v.MigrationTag}
}

// healthCheck adapts health.Wait to Health.
type healthCheck struct{ check health.Check }

func (h healthCheck) Verify(ctx context.Context, versionID string) (history.Health, error) {
	c := h.check
	c.Version = versionID
	res, err := health.Wait(ctx, c)
	return history.Health{URL: res.URL, ExpectedVersion: res.ExpectedVersion, SeenVersion: res.SeenVersion,
		StatusCode: res.StatusCode, Attempts: res.Attempts, OK: res.OK}, err
}

// records adapts the history store to Records.
type records struct {
	store       *history.Store
	tenant, env string
	account     string
	url         string
	prov        history.Provenance
	token       creds.Secret
	attempt     *history.Attempt
}

func (r records) List(context.Context) ([]Record, error) {
	es, err := r.store.Entries(r.tenant, r.env)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(es))
	for _, e := range es {
		if e.Damaged != nil {
			out = append(out, Record{File: filepath.Base(e.Path), Damaged: e.Damaged.Error()})
			continue
		}
		rec := Record{File: filepath.Base(e.Path), Kind: string(e.Record.Kind), Status: string(e.Record.Status),
			VersionID: e.Record.VersionID, At: e.Record.FinishedAt}
		if e.Record.Kind == history.KindRollback || e.Record.Kind == history.KindSecrets {
			rec.FromVersionID = e.Record.PreviousVersionID
		}
		out = append(out, rec)
	}
	return out, nil
}

func (r *records) Reserve(_ context.Context, o Outcome, live []string) (string, error) {
	settled, ok, err := r.store.SettleSplit(r.tenant, r.env, live, r.token.Reveal())
	if err != nil {
		return "", &history.WritableError{Dir: r.store.Dir, Err: err}
	}
	host, _ := os.Hostname()
	r.attempt, err = r.store.Reserve(os.Getpid(), host, "rollback "+r.tenant+" "+r.env, r.record(o), r.token.Reveal())
	if err != nil {
		return "", err
	}
	if !ok {
		return "", nil
	}
	return settled.File, nil
}

func (r *records) Write(_ context.Context, o Outcome) (string, error) {
	entry, err := r.store.Write(r.record(o), r.token.Reveal())
	if err != nil {
		return "", err
	}
	file := entry.Path
	if err := r.attempt.Done(); err != nil {
		return file, err
	}
	r.attempt = nil
	return file, nil
}

func (r *records) record(o Outcome) history.Record {
	rec := history.Record{
		Kind: history.KindRollback, Tenant: o.Tenant, Env: o.Env, WorkerName: o.Worker, AccountID: r.account,
		Actor: r.prov.Actor, GitSHA: r.prov.GitSHA, GitDirty: r.prov.GitDirty,
		PreviousVersionID: o.FromVersionID, VersionID: o.ToVersionID, URL: r.url,
		Status: history.Status(o.Status), Error: o.Error, Reason: reason(o), Health: o.Health,
		StartedAt: o.StartedAt, FinishedAt: o.FinishedAt,
	}
	if o.Actor != "" {
		rec.Actor = o.Actor
	}
	for _, s := range o.Steps {
		rec.Steps = append(rec.Steps, history.Step{Name: s.Name, Start: s.Start, DurationMS: s.Duration.Milliseconds()})
	}
	return rec
}

// reason is the record's why: the operator's words, the target's origin and any secrets a
// forced rollback went past.
func reason(o Outcome) string {
	s := o.Reason
	if s == "" {
		s = "rollback"
	}
	s += "; target: " + o.Why
	if len(o.OverriddenSecrets) > 0 {
		s += fmt.Sprintf("; forced past changed secrets %v", o.OverriddenSecrets)
	}
	return s
}
