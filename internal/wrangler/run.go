package wrangler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// DefaultGrace is how long a cancelled run gets between SIGTERM and SIGKILL.
const DefaultGrace = 5 * time.Second

// DefaultTimeout bounds one wrangler run (not dev). A deploy takes seconds; a run that has
// not finished in this time is hung (a stuck request, a prompt nobody can answer), and a
// clear error beats waiting for ever.
const DefaultTimeout = 10 * time.Minute

// Runner starts wrangler. The zero Grace means DefaultGrace.
type Runner struct {
	// Bin is the wrangler launcher, normally node_modules/.bin/wrangler.
	Bin string
	// CLI is wrangler's own entry point (node_modules/wrangler/wrangler-dist/cli.js). When
	// set, runs start node on it directly instead of Bin: the launcher is a node process that
	// spawns a second node for cli.js, and a parent-death signal set on the launcher never
	// reaches that second one, which then finishes an upload on its own after we are killed.
	CLI string
	// Log receives one debug line per run (command, duration); nil discards.
	Log *slog.Logger
	// Grace is the time between SIGTERM and SIGKILL to the process group on cancel.
	Grace time.Duration
	// Timeout bounds each run except Dev; 0 means DefaultTimeout, negative means none.
	Timeout time.Duration
	// CodeCache is the folder of V8's code cache for cli.js (codecache.cjs), which spares
	// each run most of compiling wrangler; "" compiles it every time.
	CodeCache string
}

// New returns a Runner for the wrangler installed in the workspace's node_modules. Call
// npmdeps.Ensure first: New does not install anything.
func New(ws workspace.Workspace, log *slog.Logger) Runner {
	return Runner{Bin: ws.NodeBin("wrangler"), CLI: CLIPath(ws), Log: log, CodeCache: filepath.Join(ws.StateDir(), "wrangler-code-cache")}
}

// CLIPath is the entry point the launcher node_modules/.bin/wrangler hands over to.
func CLIPath(ws workspace.Workspace) string {
	return filepath.Join(ws.NodeModules(), "wrangler", "wrangler-dist", "cli.js")
}

// nodeFlags are the flags the launcher (wrangler/bin/wrangler.js of 4.63.0) gives node.
var nodeFlags = []string{"--no-warnings", "--experimental-vm-modules"}

// command is how one run is started: node on cli.js when CLI is set (one process, the one
// that talks to Cloudflare, carries the parent-death signal), else the launcher Bin.
func (r Runner) command(ctx context.Context, nodeBin string, args []string) *exec.Cmd {
	if r.CLI == "" {
		return exec.CommandContext(ctx, r.Bin, args...)
	}
	if _, err := os.Stat(r.CLI); err != nil {
		// Another wrangler layout than the pinned one: the launcher still works, without the
		// guarantee that a kill -9 of ours takes the upload down.
		r.log().Warn("wrangler's cli.js is not where 4.63.0 keeps it; starting it through its launcher", "cli", r.CLI, "err", err)
		return exec.CommandContext(ctx, r.Bin, args...)
	}
	flags, env := r.codeCacheArgs()
	cmd := exec.CommandContext(ctx, filepath.Join(nodeBin, "node"), append(append(append(slices.Clone(nodeFlags), flags...), r.CLI), args...)...)
	cmd.Env = env // exec adds the run's environment to it
	return cmd
}

// Invocation is what one run of wrangler is about: which config, which environment, which
// account and credentials, where its private files go and where its output is shown.
type Invocation struct {
	// ConfigPath is the tenant's wrangler.jsonc (passed as --config).
	ConfigPath string
	// Env is the wrangler environment (--env); "" is the top level, which is our dev.
	Env string
	// AccountID becomes CLOUDFLARE_ACCOUNT_ID when set. The config's account_id wins inside
	// wrangler; setting both keeps wrangler from falling back to its account cache.
	AccountID string
	// Token becomes CLOUDFLARE_API_TOKEN when set, and is scrubbed from everything captured.
	Token creds.Secret
	// APIBaseURL becomes CLOUDFLARE_API_BASE_URL when set (the sandbox), trailing "/" removed.
	APIBaseURL string
	// ScratchDir is the parent of each run's private folder (HOME, TMPDIR, cwd, output file).
	// "" uses the system temp folder.
	ScratchDir string
	// KeepScratch keeps the run folder (wrangler's debug log is in it) after the run.
	KeepScratch bool
	// Output shows wrangler's stdout and stderr as they come, ANSI stripped and token
	// removed; nil shows nothing (the text is still captured).
	Output io.Writer
	// Prebuilt is the absolute path of an entry module already bundled from this config
	// (a fleet's shared build). The upload commands (deploy, versions upload) then upload it
	// as it is (`<path> --no-bundle`) instead of bundling again; "" bundles as usual.
	Prebuilt string
}

// Result is what one finished run left behind.
type Result struct {
	Stdout, Stderr string // ANSI stripped, secrets removed
	Entries        Entries
	ExitCode       int
	LogFile        string // wrangler's debug log (inside the scratch folder; gone unless kept)
	Elapsed        time.Duration
}

func (r Runner) grace() time.Duration {
	if r.Grace <= 0 {
		return DefaultGrace
	}
	return r.Grace
}

func (r Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// baseArgs are the flags every config-driven command takes. The config path is made absolute
// because wrangler runs in an empty scratch folder, not in ours.
func baseArgs(inv Invocation) []string {
	config := inv.ConfigPath
	if abs, err := filepath.Abs(config); err == nil {
		config = abs
	}
	// --env= (empty) names the top level explicitly; without it wrangler warns that no
	// environment was chosen for a config that has several.
	return []string{"--config", config, "--env=" + inv.Env}
}

// uploadArgs are baseArgs for the commands that upload a Worker: with a prebuilt entry module
// they name it in place of the config's main and turn bundling off. The module is uploaded
// byte for byte, so the version runs exactly what a bundling deploy would have uploaded.
func uploadArgs(inv Invocation) []string {
	if inv.Prebuilt == "" {
		return baseArgs(inv)
	}
	return append([]string{inv.Prebuilt, "--no-bundle"}, baseArgs(inv)...)
}

// exec runs wrangler with args and waits. A non-zero exit is returned as a *CommandError built
// from the output file; a cancelled ctx stops the process group and returns ctx's error.
// extraSecrets are scrubbed like the token (for example a secret value fed on stdin).
func (r Runner) exec(ctx context.Context, inv Invocation, command string, args []string, stdin string, extraSecrets ...string) (*Result, error) {
	if r.Bin == "" {
		return nil, errors.New("wrangler: Runner.Bin is empty; use wrangler.New(workspace, log)")
	}
	if inv.ConfigPath == "" {
		return nil, errors.New("wrangler " + command + ": no config path given")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wrangler %s: not started: %w", command, err)
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("wrangler %s: no result after %s; the run was stopped (see its output above)", command, timeout))
		defer cancel()
	}
	nb, err := nodeDir()
	if err != nil {
		return nil, fmt.Errorf("wrangler %s: %w", command, err)
	}
	sc, err := newScratch(inv.ScratchDir)
	if err != nil {
		return nil, fmt.Errorf("wrangler %s: %w", command, err)
	}
	if !inv.KeepScratch {
		defer os.RemoveAll(sc.dir)
	}
	scrub := append(scrubber{inv.Token.Reveal()}, extraSecrets...)

	cmd := r.command(ctx, nb, args)
	cmd.Dir = sc.cwd
	cmd.Env = append(cmd.Env, environ(inv, sc, nb)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Cancelled: SIGTERM to wrangler's whole group (it is the group's leader), and SIGKILL to
	// wrangler if it has not exited after the grace; the rest of the group goes after Wait.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = r.grace()
	orphanGuard(cmd.SysProcAttr)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	// Our own pipes rather than exec's: exec.Cmd.Wait would also wait for any grandchild
	// that inherited them, while we want to return when wrangler exits and then clear the
	// group ourselves.
	var mu sync.Mutex
	outC := &capture{mu: &mu, display: inv.Output, scrub: scrub}
	errC := &capture{mu: &mu, display: inv.Output, scrub: scrub}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("wrangler %s: %w", command, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("wrangler %s: %w", command, err), outR.Close(), outW.Close())
	}
	cmd.Stdout, cmd.Stderr = outW, errW

	start := time.Now()
	startErr := cmd.Start()
	// The child holds its own copies of the write ends now; ours would keep readers waiting.
	_ = outW.Close()
	_ = errW.Close()
	if startErr != nil {
		_ = outR.Close()
		_ = errR.Close()
		if ctx.Err() != nil { // exec starts nothing once ctx is done
			return nil, fmt.Errorf("wrangler %s: interrupted before it started: %w", command, ctx.Err())
		}
		return nil, fmt.Errorf("wrangler %s: start %s: %w (run npmdeps.Ensure first)", command, r.Bin, startErr)
	}
	var readers sync.WaitGroup
	for _, p := range []struct {
		r *os.File
		c *capture
	}{{outR, outC}, {errR, errC}} {
		readers.Go(func() {
			_, _ = io.Copy(p.c, p.r)
			p.c.flush()
			_ = p.r.Close()
		})
	}
	pgid := cmd.Process.Pid
	waitErr := cmd.Wait()
	// Whatever wrangler left behind in its group (esbuild, workerd) goes with it; ESRCH when
	// nothing is left is the normal case.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	readers.Wait()

	res := &Result{Stdout: outC.String(), Stderr: errC.String(), ExitCode: cmd.ProcessState.ExitCode(), Elapsed: time.Since(start)}
	r.log().Debug("wrangler run", "command", command, "env", inv.Env, "exit", res.ExitCode, "took", res.Elapsed.Round(time.Millisecond))
	if data, err := os.ReadFile(sc.output); err == nil {
		es, perr := parseEntries([]byte(scrub.scrub(string(data))))
		if perr != nil {
			return res, fmt.Errorf("wrangler %s: %w", command, perr)
		}
		res.Entries = es
		var s sessionEntry
		if ok, _ := es.last("wrangler-session", &s); ok {
			res.LogFile = s.LogFilePath
		}
	}
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != ctx.Err() {
			// Our own timeout: say so, and keep errors.Is(err, context.DeadlineExceeded).
			return res, fmt.Errorf("%w (%w)", cause, ctx.Err())
		}
		return res, fmt.Errorf("wrangler %s: interrupted, process group stopped: %w", command, ctx.Err())
	}
	if waitErr != nil {
		var exitErr *exec.ExitError
		if !errors.As(waitErr, &exitErr) {
			return res, fmt.Errorf("wrangler %s: %w", command, waitErr)
		}
		ce := &CommandError{Command: command, ExitCode: res.ExitCode, Stderr: tail(res.Stderr, 12)}
		var f failedEntry
		if ok, _ := res.Entries.last("command-failed", &f); ok {
			ce.Code, ce.Message = f.codeString(), scrub.scrub(f.Message)
		}
		return res, ce
	}
	return res, nil
}
