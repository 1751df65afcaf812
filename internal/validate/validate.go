package validate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Rule ids of the schema checks; cross-file rule ids are in rules.go and file-level ones in
// package tenant. All of them are stable: scripts and editors match on them.
const (
	RuleConfigSchema   = "config-schema"
	RuleWranglerSchema = "wrangler-schema"
)

// Options adjusts a Validator; the zero value validates the workspace as it is.
type Options struct {
	// TenantSchema and WranglerSchema are schema file paths; by default
	// schemas/tenant.config.schema.json and node_modules/wrangler/config-schema.json.
	TenantSchema, WranglerSchema string
	// Now is the clock for the compat-date-future rule (default time.Now).
	Now func() time.Time
}

// Validator checks the tenants of one workspace. Build it once; it is safe for concurrent use.
type Validator struct {
	ws       workspace.Workspace
	log      *slog.Logger
	now      func() time.Time
	config   *schema
	wrangler *schema
}

// New compiles both schemas (once per process per file) and returns a Validator.
// The wrangler schema comes from node_modules: call npmdeps.Ensure first.
func New(ws workspace.Workspace, log *slog.Logger, opts Options) (*Validator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.TenantSchema == "" {
		opts.TenantSchema = filepath.Join(ws.SchemasDir(), "tenant.config.schema.json")
	}
	if opts.WranglerSchema == "" {
		opts.WranglerSchema = ws.WranglerSchema()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := loadSchema(opts.TenantSchema, rel(ws, opts.TenantSchema), RuleConfigSchema)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	wr, err := loadSchema(opts.WranglerSchema, rel(ws, opts.WranglerSchema), RuleWranglerSchema)
	if err != nil {
		return nil, fmt.Errorf("validate: %w (run `npm ci` if node_modules is missing)", err)
	}
	return &Validator{ws: ws, log: log, now: opts.Now, config: cfg, wrangler: wr}, nil
}

func rel(ws workspace.Workspace, p string) string {
	if r, err := filepath.Rel(ws.Root, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// Run validates target, a tenant name or "all". The target is checked before any file is
// read: a malformed name or an unknown tenant is an error (listing the valid names), not a
// Problem. A tenant is always checked against the others for shared Worker names, account
// ids and ports, but only the target's own files are reported.
func (v *Validator) Run(ctx context.Context, target string) (*Report, error) {
	return v.run(ctx, target, nil)
}

// Tenant validates one tenant that is already loaded (a deploy has just read it) from the
// files it was loaded from, without reading them again; the other tenants are read for the
// cross-tenant rules as Run does. The report is the one Run(ctx, t.Name) gives.
func (v *Validator) Tenant(ctx context.Context, t *tenant.Tenant) (*Report, error) {
	return v.run(ctx, t.Name, t)
}

// run is Run; loaded, when not nil, is the target already loaded.
func (v *Validator) run(ctx context.Context, target string, loaded *tenant.Tenant) (*Report, error) {
	if target != "all" {
		if err := tenant.ValidName(target); err != nil {
			return nil, fmt.Errorf("validate: %w (or use \"all\")", err)
		}
	}
	names, invalid, err := tenant.Scan(v.ws)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if target != "all" && !slices.Contains(names, target) {
		if err := tenant.Check(v.ws, target); err != nil {
			return nil, fmt.Errorf("validate: %w", err)
		}
	}
	start := time.Now()
	checked := v.checkAll(ctx, names, target, loaded)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	var problems []Problem
	for _, c := range checked {
		problems = append(problems, c.problems...)
	}
	problems = append(problems, crossTenant(checked)...)
	problems = append(problems, crossResources(checked)...)
	if target == "all" {
		for _, n := range invalid {
			if err := tenant.FolderProblem(v.ws, n); errors.Is(err, tenant.ErrSymlink) {
				problems = append(problems, Problem{Path: "tenants/" + n, Rule: RuleTenantDirInvalid,
					Message: err.Error(), Hint: "replace the link with the tenant's folder"})
				continue
			}
			problems = append(problems, Problem{Path: "tenants/" + n, Rule: RuleTenantDirInvalid,
				Message: fmt.Sprintf("folder name %q is not a valid tenant name: %v", n, errors.Unwrap(tenant.ValidName(n))),
				Hint:    "rename the folder to lower-case letters, digits and dashes, and set tenant_id to match"})
		}
	}
	report := &Report{Tenants: names, Problems: []Problem{}}
	if target != "all" {
		report.Tenants = []string{target}
		prefix := "tenants/" + target + "/"
		for _, p := range problems {
			if strings.HasPrefix(p.Path, prefix) {
				report.Problems = append(report.Problems, p)
			}
		}
	} else {
		report.Problems = append(report.Problems, problems...)
	}
	slices.SortFunc(report.Problems, compareProblems)
	report.Problems = slices.CompactFunc(report.Problems, func(a, b Problem) bool { return a == b })
	v.log.Debug("validated", "target", target, "tenants", len(names), "problems", len(report.Problems), "took", time.Since(start))
	return report, nil
}

// checkAll loads and checks every tenant on all cores; output order does not depend on
// scheduling because problems are sorted afterwards. When target is one tenant, the others
// are only parsed and resolved (for the cross-tenant rules), not schema-checked.
func (v *Validator) checkAll(ctx context.Context, names []string, target string, loaded *tenant.Tenant) []*checked {
	out := make([]*checked, len(names))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range names {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			switch {
			case loaded != nil && names[i] == loaded.Name:
				out[i] = v.checkLoaded(ctx, loaded)
			case target == "all" || names[i] == target:
				out[i] = v.checkTenant(ctx, names[i])
			default:
				out[i] = v.peekTenant(ctx, names[i])
			}
			return nil
		})
	}
	_ = g.Wait() // each tenant's problems are in out; none returns an error
	return slices.DeleteFunc(out, func(c *checked) bool { return c == nil })
}

// checked is one tenant after its own checks, with what the cross-tenant rules need.
type checked struct {
	name     string
	t        *tenant.Tenant // nil when a file could not be parsed or typed
	envs     []tenant.ResolvedEnv
	problems []Problem
}

func (v *Validator) checkTenant(ctx context.Context, name string) *checked {
	c := &checked{name: name}
	if ctx.Err() != nil {
		return nil
	}
	dir := v.ws.TenantDir(name)
	var docs [2]*jsonc.Document
	for i, f := range []string{tenant.ConfigFile, tenant.WranglerFile} {
		d, err := tenant.ReadDocument(filepath.Join(dir, f), tenant.RelPath(name, f), f == tenant.WranglerFile)
		if err != nil {
			c.problems = append(c.problems, fileProblem(err))
			continue
		}
		docs[i] = d
	}
	c.problems = append(c.problems, v.checkDocuments(c, name, dir, docs[0], docs[1])...)
	return c
}

// checkLoaded is checkTenant on the documents a tenant was loaded from.
func (v *Validator) checkLoaded(ctx context.Context, t *tenant.Tenant) *checked {
	if ctx.Err() != nil {
		return nil
	}
	c := &checked{name: t.Name}
	c.problems = v.checkDocuments(c, t.Name, t.Dir, t.ConfigDoc, t.WranglerDoc)
	return c
}

// peekTenant loads another tenant just far enough for the cross-tenant rules; its own
// problems are not this run's business.
func (v *Validator) peekTenant(ctx context.Context, name string) *checked {
	t, err := tenant.Load(ctx, v.ws, name)
	if err != nil {
		return &checked{name: name}
	}
	c := &checked{name: name, t: t}
	for _, env := range tenant.Envs {
		if r, err := t.Resolve(env); err == nil {
			c.envs = append(c.envs, r)
		}
	}
	return c
}

func (v *Validator) checkDocuments(c *checked, name, dir string, config, wrangler *jsonc.Document) []Problem {
	var ps []Problem
	for _, d := range []*jsonc.Document{config, wrangler} {
		if d != nil {
			ps = append(ps, duplicateKeys(d)...)
		}
	}
	if config != nil {
		ps = append(ps, v.config.check(config)...)
	}
	if wrangler != nil {
		ps = append(ps, v.wrangler.check(wrangler)...)
	}
	if config == nil || wrangler == nil {
		return ps
	}
	t, err := tenant.FromDocuments(name, dir, config, wrangler)
	if err != nil {
		// A type error the schema did not already report (it nearly always has).
		if len(ps) == 0 {
			ps = append(ps, fileProblem(err))
		}
		return ps
	}
	c.t = t
	r := &rules{t: t, now: v.now()}
	ps = append(ps, r.run()...)
	c.envs = r.envs
	return ps
}

func fileProblem(err error) Problem {
	var fe *jsonc.FileError
	if errors.As(err, &fe) {
		return Problem{Path: fe.Path, Line: fe.Line, Col: fe.Col, Rule: fe.Rule, Message: fe.Message, Hint: fe.Hint}
	}
	return Problem{Rule: jsonc.RuleFileRead, Message: err.Error()}
}

func duplicateKeys(d *jsonc.Document) []Problem {
	var ps []Problem
	for _, k := range d.DuplicateKeys() {
		ptr, idx, _ := strings.Cut(k, "#")
		parent, key := jsonc.SplitPointer(ptr)
		var i int
		fmt.Sscanf(idx, "%d", &i)
		line, col := d.MemberPosition(parent, i)
		ps = append(ps, Problem{Path: d.Rel, Line: line, Col: col, Rule: RuleDuplicateKey,
			Message: fmt.Sprintf("field %q appears more than once in the same object", key),
			Hint:    "keep one: JSON readers silently take the last and editors may show the first"})
	}
	return ps
}

// fileExists is a seam for main-not-found; tests of 500 generated tenants keep it real.
var fileExists = func(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
