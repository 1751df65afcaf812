package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// SmokeResult is what `mage smoke` did: the health it started from and each plugin's run.
type SmokeResult struct {
	Health  Result              `json:"health"`
	Plugins []history.PluginRun `json:"plugins"`
	Log     string              `json:"log"`
}

// Smoke runs the post-deploy plugins of name/env against what is live now, as a
// deploy runs them after its health check (the rollback runbook's "run the smoke tests").
// The live version comes from the health check, so no token is needed. The name and env
// were parsed by the caller.
func Smoke(ctx context.Context, ws workspace.Workspace, log *slog.Logger, name tenant.Name, env tenant.Env, banner io.Writer) (SmokeResult, error) {
	tenantName := string(name)
	t, err := tenant.Load(ctx, ws, tenantName)
	if err != nil {
		return SmokeResult{}, fmt.Errorf("smoke %s/%s: %w", tenantName, env, err)
	}
	runner := plugins.Runner{Root: ws.Root}
	var res SmokeResult
	if env == tenant.Dev {
		rs, err := Health(ctx, ws, log, tenantName, env, nil, banner)
		if err != nil {
			return res, err
		}
		res.Health = rs[0]
	} else {
		ep, err := sandboxctl.Resolve(ctx, ws, log)
		if err != nil {
			return res, fmt.Errorf("smoke %s/%s: %w", tenantName, env, err)
		}
		if banner != nil {
			ep.PrintBanner(banner)
		}
		if ep.Sandbox {
			if u, err := url.Parse(ep.APIBaseURL); err == nil {
				runner.Connect = u.Host
			}
		}
		rs, err := Health(ctx, ws, log, tenantName, env, ep.HTTPClient, nil)
		if err != nil {
			return res, err
		}
		res.Health = rs[0]
	}
	if !res.Health.Healthy {
		return res, fmt.Errorf("smoke %s/%s: not healthy, so not smoke-tested: %s", tenantName, env, res.Health.Error)
	}
	worker := ""
	if r, err := t.Resolve(env); err == nil {
		worker = r.WorkerName
	}
	facts := plugins.Facts{Tenant: tenantName, Env: string(env), WorkerName: worker,
		URL: strings.TrimSuffix(res.Health.URL, t.Config.HealthCheck.Path), HealthURL: res.Health.URL,
		VersionID: res.Health.VersionID, Status: "smoke"}
	logPath := filepath.Join(ws.RunsDir(), fmt.Sprintf("smoke-%s-%s-%s.log", tenantName, env, time.Now().UTC().Format("20060102T150405Z")))
	res.Log = logPath
	if rel, err := filepath.Rel(ws.Root, logPath); err == nil {
		res.Log = rel
	}
	found, err := plugins.Find(ws.Root, tenantName, plugins.PostDeploy)
	if err != nil {
		return res, err
	}
	if len(found) == 0 {
		return res, fmt.Errorf("smoke %s/%s: no post-deploy plugins in plugins/post-deploy/ or tenants/%s/plugins/post-deploy/", tenantName, env, tenantName)
	}
	res.Plugins, err = runner.Run(ctx, plugins.PostDeploy, facts, logPath, false)
	if err != nil {
		return res, fmt.Errorf("smoke %s/%s: %w", tenantName, env, err)
	}
	return res, nil
}
