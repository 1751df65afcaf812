package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// Event is when a plugin runs.
type Event string

// The events.
const (
	// PreDeploy runs after the plan, before anything is uploaded; non-zero refuses the deploy.
	PreDeploy Event = "pre-deploy"
	// PostDeploy runs after the health check passed; non-zero rolls back like a failed check.
	PostDeploy Event = "post-deploy"
	// PostRollback runs after a deploy was rolled back.
	PostRollback Event = "post-rollback"
	// Notify runs after every record is written; its exit status changes nothing.
	Notify Event = "notify"
)

// DefaultTimeout bounds one plugin's run.
const DefaultTimeout = 2 * time.Minute

// Facts are what a plugin is told about the deploy, as DEPLOY_* variables.
type Facts struct {
	Tenant, Env, WorkerName string
	// URL is the Worker's base URL (https://<worker>.<subdomain>.workers.dev); HealthURL its
	// health check.
	URL, HealthURL               string
	VersionID, PreviousVersionID string
	// RecordPath is the record file (notify; "" before the record exists).
	RecordPath string
	Status     string
	// VersionOverride is the Cloudflare-Workers-Version-Overrides header value that pins the
	// version under test during a gradual rollout ("" otherwise): plugins send it as is.
	VersionOverride string
}

// Runner runs plugins for one checkout.
type Runner struct {
	// Root is the repository: the working directory of every plugin.
	Root string
	// Timeout per plugin; 0 means DefaultTimeout.
	Timeout time.Duration
	// Connect is host:port to send the Worker's requests to instead of the URL's host (the
	// sandbox's edge), "" on Cloudflare. Plugins see it as DEPLOY_CONNECT.
	Connect string
	// Environ is the process environment plugins may inherit from (only the allowed names);
	// nil means os.Environ.
	Environ func() []string
}

// Find lists the plugins of ev for tenantName: project-wide first, then the tenant's, each
// in name order. Hidden files, folders and *.md notes are not plugins; any other file must be
// executable, or Find says which one to chmod.
func Find(root, tenantName string, ev Event) ([]string, error) {
	var out []string
	for _, dir := range []string{filepath.Join(root, "plugins", string(ev)), filepath.Join(root, "tenants", tenantName, "plugins", string(ev))} {
		des, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plugins %s: %w", ev, err)
		}
		var names []string
		for _, de := range des {
			info, err := de.Info()
			if err != nil || strings.HasPrefix(de.Name(), ".") || strings.HasSuffix(de.Name(), ".md") || !info.Mode().IsRegular() {
				continue
			}
			if info.Mode().Perm()&0o111 == 0 {
				return nil, fmt.Errorf("plugins %s: %s is not executable: run `chmod +x %s` (or move it out of %s)",
					ev, filepath.Join(dir, de.Name()), filepath.Join(dir, de.Name()), dir)
			}
			names = append(names, de.Name())
		}
		slices.Sort(names)
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

// inherited are the names a plugin may inherit from the process environment, besides PLUGIN_*.
var inherited = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "CI", "GITHUB_ACTIONS",
	"GITHUB_RUN_ID", "GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_ACTOR", "DEPLOY_WEBHOOK_URL"}

// secretish are name parts that keep a variable from a plugin even when it is allowed.
var secretish = []string{"TOKEN", "SECRET", "PASSWORD", "API_KEY", "PRIVATE"}

// env is a plugin's whole environment.
func (r Runner) env(ev Event, f Facts) []string {
	environ := os.Environ
	if r.Environ != nil {
		environ = r.Environ
	}
	var env []string
	for _, kv := range environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(inherited, k) && !strings.HasPrefix(k, "PLUGIN_") {
			continue
		}
		up := strings.ToUpper(k)
		if slices.ContainsFunc(secretish, func(s string) bool { return strings.Contains(up, s) }) {
			continue
		}
		env = append(env, kv)
	}
	sandbox := ""
	if r.Connect != "" {
		sandbox = "1"
	}
	return append(env,
		"DEPLOY_EVENT="+string(ev), "DEPLOY_TENANT="+f.Tenant, "DEPLOY_ENV="+f.Env, "DEPLOY_WORKER="+f.WorkerName,
		"DEPLOY_URL="+f.URL, "DEPLOY_HEALTH_URL="+f.HealthURL, "DEPLOY_VERSION_ID="+f.VersionID,
		"DEPLOY_PREVIOUS_VERSION_ID="+f.PreviousVersionID, "DEPLOY_RECORD="+f.RecordPath, "DEPLOY_STATUS="+f.Status,
		"DEPLOY_CONNECT="+r.Connect, "DEPLOY_SANDBOX="+sandbox, "DEPLOY_VERSION_OVERRIDE="+f.VersionOverride,
	)
}

// Run runs the plugins of ev in order, appending their output to logPath, and returns what
// each did. With stopOnFailure (pre-deploy, post-deploy) the first failure ends the run and
// is the error, naming the plugin; otherwise every plugin runs and failures are joined.
func (r Runner) Run(ctx context.Context, ev Event, f Facts, logPath string, stopOnFailure bool) ([]history.PluginRun, error) {
	paths, err := Find(r.Root, f.Tenant, ev)
	if err != nil || len(paths) == 0 {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, fmt.Errorf("plugins %s: log: %w", ev, err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("plugins %s: log: %w", ev, err)
	}
	defer logf.Close()
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var runs []history.PluginRun
	var errs []error
	for _, p := range paths {
		rel, _ := filepath.Rel(r.Root, p)
		rel = filepath.ToSlash(rel)
		run, err := r.one(ctx, ev, f, p, rel, timeout, logf, logPath)
		runs = append(runs, run)
		if err != nil {
			if stopOnFailure {
				return runs, err
			}
			errs = append(errs, err)
		}
	}
	return runs, errors.Join(errs...)
}

func (r Runner) one(ctx context.Context, ev Event, f Facts, path, rel string, timeout time.Duration, log io.Writer, logPath string) (history.PluginRun, error) {
	fmt.Fprintf(log, "==> %s %s (%s/%s) at %s\n", ev, rel, f.Tenant, f.Env, time.Now().UTC().Format(time.RFC3339))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = r.Root
	cmd.Env = r.env(ev, f)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so a timeout ends whatever the plugin started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err := cmd.Run()
	run := history.PluginRun{Name: rel, Event: string(ev), DurationMS: time.Since(start).Milliseconds()}
	if cmd.ProcessState != nil {
		run.Exit = cmd.ProcessState.ExitCode()
	}
	switch {
	case err == nil:
	case ctx.Err() == context.DeadlineExceeded:
		run.Error = fmt.Sprintf("timed out after %s (raise it in the plugin, or fix what it waits for)", timeout)
	default:
		run.Error = err.Error()
	}
	fmt.Fprintf(log, "<== %s exit %d in %dms %s\n", rel, run.Exit, run.DurationMS, run.Error)
	if run.Error != "" {
		return run, fmt.Errorf("%s plugin %s failed: %s (its output is in %s)", ev, rel, run.Error, logPath)
	}
	return run, nil
}
