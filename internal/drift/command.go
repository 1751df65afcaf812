package drift

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// DefaultParallel is how many tenants `drift all` checks at once. Each tenant has its own
// token (and budget), and one check is a handful of small reads, so the limit is only there
// to keep the number of open connections and wrangler builds reasonable.
const DefaultParallel = 16

// CommandOptions is one `mage drift <tenant|all> <env>` request.
type CommandOptions struct {
	// Target is a tenant name or "all", for tenant.Select; Env was parsed by the caller
	// (dev is refused here).
	Target    string
	Env       tenant.Env
	Parallel  int
	Workspace workspace.Workspace
	// Sources is called once the target and env are checked: nothing is built or read
	// before a request is known to be valid.
	Sources func(ctx context.Context) (*Sources, error)
	// Stderr gets the banner and the progress lines.
	Stderr io.Writer
}

// Command is `mage drift`: it picks the API (the running sandbox, CLOUDFLARE_API_BASE_URL or
// Cloudflare; the banner goes to stderr) and runs Main.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, target string, env tenant.Env, stderr io.Writer) ([]Report, error) {
	return Main(ctx, CommandOptions{
		Target: target, Env: env, Workspace: ws, Stderr: stderr,
		Sources: func(ctx context.Context) (*Sources, error) {
			if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
				return nil, err
			}
			ep, err := sandboxctl.Resolve(ctx, ws, log)
			if err != nil {
				return nil, err
			}
			ep.PrintBanner(stderr)
			s := Sources{Workspace: ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient, Log: log}
			s.SandboxToken = ep.SandboxTokens()
			return NewSources(s, 2), nil
		},
	})
}

// Main checks the requested tenants, with progress on o.Stderr, and returns one report each;
// the caller renders them (Write) and ends with ExitCode(reports). A non-nil error means the
// request itself was refused (unknown tenant, bad env): nothing was compared then.
func Main(ctx context.Context, o CommandOptions) ([]Report, error) {
	env := o.Env
	if err := env.RequireCloud(nothingToCompare); err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	names, err := tenant.Select(o.Workspace, o.Target)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	sources, err := o.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("drift %s: %w", env, err)
	}
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	fmt.Fprintf(o.Stderr, "drift %s: checking %s\n", env, strings.Join(names, ", "))
	progress := report.NewProgress(o.Stderr, names)
	prepare := func(ctx context.Context, t string, e tenant.Env) (Input, error) {
		in, err := sources.Prepare(ctx, t, e)
		if err == nil {
			progress.Line(t, "reading", report.Plain, in.Worker)
		}
		return in, err
	}
	reports := CheckAll(ctx, names, env, prepare, parallel, func(r Report) {
		detail := r.Duration.Round(100 * time.Millisecond).String()
		if r.Status == Drifted {
			detail += fmt.Sprintf("  %d change(s)", r.Changes.Count())
		}
		if r.Error != "" {
			detail += "  " + r.Error
		}
		progress.Line(r.Tenant, string(r.Status), tone(r.Status), detail)
	})
	return reports, nil
}

// Write renders reports the way `mage drift` ends: the table on stdout or, with asJSON, the
// JSON array on stdout and the table on stderr; and the Markdown table in the CI job summary.
func Write(stdout, stderr io.Writer, reports []Report, asJSON bool) error {
	human := stdout
	if asJSON {
		human = stderr
		if err := WriteJSON(stdout, reports); err != nil {
			return err
		}
	}
	fmt.Fprintln(human)
	if err := WriteText(human, reports, report.Colour(human)); err != nil {
		return err
	}
	if err := report.AppendStepSummary(Markdown(reports)); err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
	return nil
}
