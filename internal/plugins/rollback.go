package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// For is the Runner of a checkout: with this checkout's sandbox running, plugins reach the
// Worker through its edge (DEPLOY_CONNECT), as the health checks do.
func For(ctx context.Context, ws workspace.Workspace, log *slog.Logger) Runner {
	r := Runner{Root: ws.Root}
	if ep, err := sandboxctl.Resolve(ctx, ws, log); err == nil && ep.Sandbox {
		if u, err := url.Parse(ep.APIBaseURL); err == nil {
			r.Connect = u.Host
		}
	}
	return r
}

// AfterRollback runs what follows a `mage rollback`: the post-rollback plugins when the
// rollback succeeded, then the notify plugins. The rollback record is already written, so
// their runs are in the log whose path this returns, not in the record.
func (r Runner) AfterRollback(ctx context.Context, f Facts, succeeded bool) (string, error) {
	logPath := filepath.Join(workspace.Workspace{Root: r.Root}.RunsDir(), fmt.Sprintf("rollback-%s-%s-%s.log", f.Tenant, f.Env, time.Now().UTC().Format("20060102T150405Z")))
	var errs []error
	if succeeded {
		if _, err := r.Run(ctx, PostRollback, f, logPath, false); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := r.Run(context.WithoutCancel(ctx), Notify, f, logPath, false); err != nil {
		errs = append(errs, err)
	}
	return logPath, errors.Join(errs...)
}
