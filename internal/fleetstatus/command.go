package fleetstatus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Exit codes of `mage fleet:status`: report's, as drift's; errors win over attention.
const (
	ExitOK        = report.ExitOK
	ExitError     = report.ExitFailed
	ExitAttention = report.ExitAttention
)

// ExitCode is 0 when every row is ok (or mid-rollout), 2 when any is drifted, missing or
// unhealthy or has a damaged record (the status is still shown, from the good records), 1 when
// any could not be read.
func ExitCode(rows []Row) int {
	code := ExitOK
	for _, r := range rows {
		if len(r.SkippedRecords) > 0 {
			code = ExitAttention
		}
		switch r.State {
		case StateOK, StateSplit:
		case StateError:
			return ExitError
		default:
			code = ExitAttention
		}
	}
	return code
}

// Envs is what an env argument means: one env, or "all" (staging and production; dev runs on
// this machine and has no fleet).
func Envs(arg string) ([]tenant.Env, error) {
	if arg == "all" {
		return []tenant.Env{tenant.Staging, tenant.Production}, nil
	}
	e, err := tenant.ParseCloudEnv(arg, "; use staging, production or all (dev:status shows local servers)")
	switch {
	case errors.Is(err, tenant.ErrInvalidEnv):
		return nil, fmt.Errorf("%w (or all)", err)
	case err != nil:
		return nil, err
	}
	return []tenant.Env{e}, nil
}

// Sources is how the status of a workspace's tenants is read for real: the API (sandbox or
// Cloudflare) through drift's sources, health through the endpoint's client, records from
// the workspace's records folder.
type Sources struct {
	Drift      *drift.Sources
	Workspace  workspace.Workspace
	HTTPClient *http.Client
}

// Options returns the Collect options of this workspace for tenants × envs.
func (s Sources) Options(tenants []string, envs []tenant.Env) Options {
	store := history.Open(s.Workspace.DeploymentsDir())
	return Options{
		Tenants: tenants, Envs: envs, Prepare: s.Drift.Prepare, Records: store.ReadableOf,
		Probe: func(ctx context.Context, name, env string) (health.Check, error) {
			t, err := tenant.Load(ctx, s.Workspace, name)
			if err != nil {
				return health.Check{}, err
			}
			u, err := t.HealthURL(tenant.Env(env))
			if err != nil {
				return health.Check{}, err
			}
			return health.Check{URL: u, Expect: t.Config.HealthCheck.Expect, Client: s.HTTPClient, Deadline: 10 * time.Second}, nil
		},
	}
}

// Resolve picks the API as drift does (the running sandbox, CLOUDFLARE_API_BASE_URL or
// Cloudflare; the banner goes to stderr) and returns the sources.
func Resolve(ctx context.Context, ws workspace.Workspace, log *slog.Logger, stderr io.Writer) (Sources, error) {
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return Sources{}, err
	}
	ep, err := sandboxctl.Resolve(ctx, ws, log)
	if err != nil {
		return Sources{}, err
	}
	ep.PrintBanner(stderr)
	ds := drift.Sources{Workspace: ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient, Log: log}
	if ep.Sandbox {
		ds.SandboxToken = ep.TokenFor
	}
	return Sources{Drift: drift.NewSources(ds, 2), Workspace: ws, HTTPClient: ep.HTTPClient}, nil
}

// Command is `mage fleet:status <env|all>`: it checks the request and reads every tenant,
// with progress on stderr, and returns the rows; the caller renders them (WriteText or JSON)
// and ends with ExitCode(rows). An error is a refused request: nothing was read.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, envArg string, stderr io.Writer) ([]Row, error) {
	envs, err := Envs(envArg)
	if err != nil {
		return nil, fmt.Errorf("fleet:status: %w", err)
	}
	names, err := tenant.Select(ws, tenant.All)
	if err != nil {
		return nil, fmt.Errorf("fleet:status: %w", err)
	}
	src, err := Resolve(ctx, ws, log, stderr)
	if err != nil {
		return nil, fmt.Errorf("fleet:status: %w", err)
	}
	o := src.Options(names, envs)
	progress := report.NewProgress(stderr, names)
	o.Done = func(r Row) { progress.Line(r.Tenant, r.Env+" "+string(r.State), tone(r.State), r.Error) }
	fmt.Fprintf(stderr, "fleet:status %s: reading %d tenant(s)\n", envList(envs), len(names))
	rows := Collect(ctx, o)
	WarnSkipped(stderr, "fleet:status", rows)
	return rows, nil
}

// WarnSkipped writes a warning for each damaged record the rows passed over: the file, what is
// wrong with it and the fix.
func WarnSkipped(w io.Writer, target string, rows []Row) {
	for _, r := range rows {
		for _, d := range r.SkippedRecords {
			fmt.Fprintf(w, "warning: %s: %s\n", target, d.Warning())
		}
	}
}

func tone(s State) report.Tone {
	switch s {
	case StateOK:
		return report.Good
	case StateSplit:
		return report.Calm
	case StateDrifted, StateMissing, StateUnhealthy:
		return report.Warn
	}
	return report.Bad
}

// WriteText writes one line per row, then the errors.
func WriteText(w io.Writer, root string, rows []Row, colour bool) error {
	counts := map[State]int{}
	for _, r := range rows {
		counts[r.State]++
	}
	var parts []string
	for _, s := range []State{StateOK, StateSplit, StateDrifted, StateUnhealthy, StateMissing, StateError} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	t := report.Table{Title: fmt.Sprintf("fleet status: %d tenant/env(s): %s", len(rows), strings.Join(parts, ", ")),
		Columns: []string{"tenant", "env", "state", "live version(s)", "deployed by", "when (UTC)", "drift", "health", "last failure"}}
	for _, r := range rows {
		by, when := "-", "-"
		if r.Deployed != nil {
			by, when = r.Deployed.Actor, r.Deployed.At.UTC().Format("2006-01-02 15:04")
			if r.DeployedNote != "" {
				by += " (" + r.DeployedNote + ")"
			}
		} else if len(r.Versions) > 0 {
			by = "(no record)"
		}
		drift := string(r.Drift)
		if r.DriftChanges > 0 {
			drift += fmt.Sprintf(" (%d)", r.DriftChanges)
		}
		hl := "-"
		if r.Health != nil {
			hl = "healthy"
			if !r.Health.OK {
				hl = "unhealthy"
			}
		}
		fail := "-"
		if f := r.LastFailure; f != nil {
			fail = fmt.Sprintf("%s %s %s", f.At.UTC().Format("2006-01-02 15:04"), f.Status, rel(root, f.Record))
		}
		t.AddRow(report.Cell{Text: r.Tenant}, report.Cell{Text: r.Env}, report.Cell{Text: string(r.State), Tone: tone(r.State)},
			report.Cell{Text: Versions(r.Versions)}, report.Cell{Text: by}, report.Cell{Text: when}, report.Cell{Text: drift},
			report.Cell{Text: hl}, report.Cell{Text: fail})
	}
	if err := t.Text(w, colour); err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(&b, "%s/%s: %s\n", r.Tenant, r.Env, r.Error)
		}
		if r.Health != nil && !r.Health.OK && r.Health.Detail != "" {
			fmt.Fprintf(&b, "%s/%s: health: %s\n", r.Tenant, r.Env, r.Health.Detail)
		}
		for _, d := range r.SkippedRecords {
			fmt.Fprintf(&b, "%s/%s: skipped the damaged record %s (%s); %s\n", r.Tenant, r.Env, rel(root, d.Path), d.Reason, history.Fix(d))
		}
	}
	if b.Len() > 0 {
		if _, err := io.WriteString(w, "\n"+b.String()); err != nil {
			return fmt.Errorf("fleet:status: %w", err)
		}
	}
	return nil
}

// Versions is the live split as text: "v1" alone, or "v2 10% + v1 90%".
func Versions(vs []Share) string {
	switch len(vs) {
	case 0:
		return "-"
	case 1:
		return vs[0].VersionID
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s %g%%", v.VersionID, v.Percentage)
	}
	return strings.Join(parts, " + ")
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// envList is envs as "staging, production".
func envList(envs []tenant.Env) string {
	s := make([]string, len(envs))
	for i, e := range envs {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}
