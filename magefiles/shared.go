//go:build mage

// Deploy, check and roll back every tenant's Worker. `go tool mage -h <target>` shows its flags.
package main

// Targets here are thin: they parse arguments and call packages under internal/, where the
// logic lives and is tested with go test. The first sentence of a target's doc comment is its
// line in `mage -l` (one short sentence); its flags are documented on its parameters, which
// `mage -h <target>` lists.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/lease"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// setup finds the repository and builds the logger every target uses: slog on stderr, so
// stdout stays clean for -json output.
func setup() (workspace.Workspace, *slog.Logger, error) {
	level := slog.LevelInfo
	if os.Getenv("MAGEFILE_VERBOSE") == "1" || os.Getenv("MAGEFILE_VERBOSE") == "true" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ws, err := workspace.Cwd()
	if err != nil {
		return ws, log, err
	}
	// Rehearsal or real is decided here, once, and handed to every package the target calls:
	// rehearsals keep their records apart from deployments/, the real, committed history.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sandboxctl.Decide(ctx, ws, log)
	if err == nil {
		sandboxctl.Hand(ws, d)
	} else {
		// Targets that reach no API (validate, history) go on; those that do meet the same
		// error, with its fix, when they resolve the API.
		log.Debug("no decision on the Cloudflare API yet", "err", err)
	}
	rehearsal := d.Rehearsal
	ws.Records = d.Records
	// Every lock any target takes takes the team's lease after it (internal/lock's team
	// guard): rehearsals under their own refs, so they never block a real deploy.
	g, err := lease.NewGuard(ctx, lease.Config{Repo: ws.Root, StateDir: ws.StateDir(), Rehearsal: rehearsal, Records: ws.DeploymentsDir(), Log: log})
	if err != nil {
		return ws, log, err
	}
	lock.SetTeam(g)
	guard = g
	return ws, log, nil
}

// guard is the lease guard setup installed, for lease:status and lease:break.
var guard *lease.Guard

// leaseFlags applies a lock-taking target's -wait and -localLockOnly before setup reads them:
// they are the flags' names for DEPLOY_LEASE_WAIT and DEPLOY_LEASE_LOCAL_ONLY, which reach
// every target (redeploy, secrets:put, secrets:sync) and CI jobs alike.
func leaseFlags(wait *string, localLockOnly *bool) error {
	if wait != nil {
		if d, err := time.ParseDuration(*wait); err != nil || d < 0 {
			return fmt.Errorf("-wait=%s: not a duration; write e.g. -wait=15m", *wait)
		}
		_ = os.Setenv(lease.EnvWait, *wait)
	}
	if localLockOnly != nil {
		_ = os.Setenv(lease.EnvLocalOnly, fmt.Sprint(*localLockOnly))
	}
	return nil
}

// request parses a target's tenant and env arguments, once: what runs the request takes them
// typed and does not parse them again. "prod" becomes production here.
func request(what, tenantName, env string) (tenant.Name, tenant.Env, error) {
	n, err := tenant.ParseName(tenantName)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", what, err)
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return "", "", fmt.Errorf("%s %s: %w", what, n, err)
	}
	return n, e, nil
}

// requestAll is request for a target that may also be tenant.All, every tenant: the target
// comes back as given, checked unless it is all (tenant.Select, or a records filter, expands
// it); the env is parsed as request parses it.
func requestAll(what, target, env string) (string, tenant.Env, error) {
	if err := tenantOrAll(what, target); err != nil {
		return "", "", err
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return "", "", fmt.Errorf("%s %s: %w", what, target, err)
	}
	return target, e, nil
}

// requestRecords is requestAll for a filter of the records, where the env may be all too:
// all comes back as "" (every tenant, every env), as the records' filters take it.
func requestRecords(what, target, env string) (tenant.Name, tenant.Env, error) {
	if err := tenantOrAll(what, target); err != nil {
		return "", "", err
	}
	var n tenant.Name
	if target != tenant.All {
		n = tenant.Name(target)
	}
	if env == "all" {
		return n, "", nil
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return "", "", fmt.Errorf("%s %s: %w (or all)", what, target, err)
	}
	return n, e, nil
}

// tenantOrAll checks a target that is one tenant's name or tenant.All.
func tenantOrAll(what, target string) error {
	if target == tenant.All {
		return nil
	}
	if _, err := tenant.ParseName(target); err != nil {
		return fmt.Errorf("%s: %w (or use %q)", what, err, tenant.All)
	}
	return nil
}

// flag returns the value of an optional mage flag, or def when it was not given.
func flag[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// exit ends a target that judged the fleet with the exit code its command returned (see
// report.ExitOK, ExitAttention and ExitFailed), saying why in one line. The error is returned
// unwrapped: mage uses mg.Fatal's code only when it is the outermost error.
func exit(code int, attention, failed string) error {
	switch code {
	case report.ExitOK:
		return nil
	case report.ExitAttention:
		return mg.Fatal(code, fmt.Sprintf("%s (exit %d)", attention, code))
	}
	return mg.Fatal(report.ExitFailed, fmt.Sprintf("%s (exit %d)", failed, report.ExitFailed))
}

// stoppable is the context of a target that may run for long: mage cancels a target's
// context on Ctrl-C only, and CI runners stop jobs with SIGTERM, so both end it cleanly. A
// target that changes something live (deploy, rollback, secrets, records:push) then stops
// wrangler, releases the lock and writes an interrupted record; a read-only one (fleet:status,
// report:html) stops its requests.
func stoppable(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
}
