package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// API is the part of cfapi a preflight reads; *cfapi.Client implements it.
type API interface {
	VerifyToken(ctx context.Context) (cfapi.TokenStatus, error)
	Script(ctx context.Context, script string) (cfapi.Script, error)
	Secrets(ctx context.Context, script string) ([]cfapi.Secret, error)
	KVNamespaces(ctx context.Context) ([]cfapi.KVNamespace, error)
	VectorizeIndex(ctx context.Context, name string) (cfapi.VectorizeIndex, error)
	DurableObjectNamespaces(ctx context.Context) ([]cfapi.DurableObjectNamespace, error)
}

// Target is one tenant environment to check.
type Target struct {
	Tenant string
	// Resolved is the env as wrangler deploys it: Worker, account, bindings, migrations.
	Resolved tenant.ResolvedEnv
	// RequiredSecrets are tenant.config.json's required_secrets.
	RequiredSecrets []string
}

// Status of one check.
type Status string

// The statuses. Warn does not make a tenant unready (a first deploy without secrets).
const (
	OK      Status = "ok"
	Warn    Status = "warn"
	Problem Status = "problem"
)

// Check is one line of the report: what was checked, what was found, and the fix.
type Check struct {
	Name   string `json:"check"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the preflight of one tenant environment.
type Report struct {
	Tenant    string `json:"tenant"`
	Env       string `json:"env"`
	Worker    string `json:"worker"`
	AccountID string `json:"account_id"`
	// FirstDeploy: the Worker does not exist yet.
	FirstDeploy bool `json:"first_deploy"`
	// MissingSecrets are required secrets not set on the Worker (all of them on a first deploy).
	MissingSecrets []string `json:"missing_secrets,omitempty"`
	Checks         []Check  `json:"checks"`
	// Error is set when the tenant could not be checked at all (no token, no config).
	Error string `json:"error,omitempty"`
}

// Ready reports whether nothing stands in the way of a deploy.
func (r Report) Ready() bool {
	if r.Error != "" {
		return false
	}
	for _, c := range r.Checks {
		if c.Status == Problem {
			return false
		}
	}
	return true
}

// Problems are the failed checks.
func (r Report) Problems() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Problem {
			out = append(out, c)
		}
	}
	return out
}

// Err is nil for a ready tenant, else one error naming every problem and its fix.
func (r Report) Err() error {
	if r.Ready() {
		return nil
	}
	if r.Error != "" {
		return fmt.Errorf("preflight %s/%s: %s", r.Tenant, r.Env, r.Error)
	}
	var parts []string
	for _, c := range r.Problems() {
		p := c.Name + ": " + c.Detail
		if c.Fix != "" {
			p += " (fix: " + c.Fix + ")"
		}
		parts = append(parts, p)
	}
	return fmt.Errorf("preflight %s/%s: not ready: %s", r.Tenant, r.Env, strings.Join(parts, "; "))
}

// Grants the deploy needs, named as Cloudflare's token editor names them.
const (
	grantScripts   = "Account > Workers Scripts > Edit"
	grantKV        = "Account > Workers KV Storage > Read"
	grantVectorize = "Account > Vectorize > Read"
)

// Run checks one tenant environment against its account, with one request per kind of
// resource (and one per Vectorize index): token, Worker (and so the account and the Workers
// permission), secrets, KV, Vectorize, Durable Objects. A failure of one check does not stop
// the others, except that an invalid token stops everything (every other answer would be a
// 401 saying the same). Only ctx's end is returned as an error.
func Run(ctx context.Context, api API, t Target) (Report, error) {
	r := t.Resolved
	rep := Report{Tenant: t.Tenant, Env: string(r.Env), Worker: r.WorkerName, AccountID: r.AccountID}
	add := func(name string, st Status, detail, fix string) {
		rep.Checks = append(rep.Checks, Check{Name: name, Status: st, Detail: detail, Fix: fix})
	}

	tok, err := api.VerifyToken(ctx)
	switch {
	case ctx.Err() != nil:
		return rep, ctx.Err()
	case errors.Is(err, cfapi.ErrForeignAccount):
		add("token", Problem, fmt.Sprintf("the token is valid but belongs to another account than %s", r.AccountID),
			fmt.Sprintf("create the token in account %s (docs/deployment/multi-account-auth.md) and update %s", r.AccountID, tokenVar(t.Tenant)))
		return rep, nil
	case err != nil:
		add("token", Problem, "Cloudflare refused the token: "+err.Error(),
			fmt.Sprintf("create a new token (docs/deployment/multi-account-auth.md) and update %s", tokenVar(t.Tenant)))
		return rep, nil
	case tok.Status != "" && tok.Status != "active":
		add("token", Problem, fmt.Sprintf("the %s token is %s, not active", tok.Kind, tok.Status),
			fmt.Sprintf("rotate it (docs/deployment/multi-account-auth.md) and update %s", tokenVar(t.Tenant)))
		return rep, nil
	}
	add("token", OK, fmt.Sprintf("valid %s token, status active", tok.Kind), "")

	script, err := api.Script(ctx, r.WorkerName)
	exists := err == nil
	switch {
	case ctx.Err() != nil:
		return rep, ctx.Err()
	case errors.Is(err, cfapi.ErrNotFound):
		rep.FirstDeploy = true
		add("account", OK, fmt.Sprintf("account %s reached; Worker %s does not exist yet (first deploy)", r.AccountID, r.WorkerName), "")
	case err != nil:
		add("account", Problem, fmt.Sprintf("cannot list the Workers of account %s: %s", r.AccountID, denied(err, grantScripts)),
			fmt.Sprintf("give the token %s in account %s", grantScripts, r.AccountID))
	default:
		add("account", OK, fmt.Sprintf("account %s reached; Worker %s exists (migration tag %s)", r.AccountID, r.WorkerName, orNone(script.MigrationTag)), "")
	}

	checkSecrets(ctx, api, t, exists, &rep, add)
	checkKV(ctx, api, r, add)
	checkVectorize(ctx, api, r, add)
	checkDurableObjects(ctx, api, r, script.MigrationTag, rep.FirstDeploy, exists, add)
	return rep, ctx.Err()
}

func checkSecrets(ctx context.Context, api API, t Target, exists bool, rep *Report, add func(string, Status, string, string)) {
	r := t.Resolved
	if len(t.RequiredSecrets) == 0 {
		add("secrets", OK, "no required_secrets", "")
		return
	}
	if rep.FirstDeploy {
		rep.MissingSecrets = slices.Clone(t.RequiredSecrets)
		add("secrets", Warn, fmt.Sprintf("first deploy of %s: required secrets %s are not set yet; the Worker goes live without them",
			r.WorkerName, strings.Join(t.RequiredSecrets, ", ")), putCommand(t.Tenant, string(r.Env), t.RequiredSecrets))
		return
	}
	if !exists {
		return // the account check failed and said why
	}
	live, err := api.Secrets(ctx, r.WorkerName)
	if err != nil {
		add("secrets", Problem, fmt.Sprintf("cannot list the secrets of %s: %s", r.WorkerName, denied(err, grantScripts)),
			fmt.Sprintf("give the token %s in account %s", grantScripts, r.AccountID))
		return
	}
	have := map[string]bool{}
	for _, s := range live {
		have[s.Name] = true
	}
	for _, n := range t.RequiredSecrets {
		if !have[n] {
			rep.MissingSecrets = append(rep.MissingSecrets, n)
		}
	}
	if len(rep.MissingSecrets) > 0 {
		add("secrets", Problem, fmt.Sprintf("required secrets not set on %s: %s", r.WorkerName, strings.Join(rep.MissingSecrets, ", ")),
			putCommand(t.Tenant, string(r.Env), rep.MissingSecrets))
		return
	}
	add("secrets", OK, fmt.Sprintf("all %d required secrets set on %s", len(t.RequiredSecrets), r.WorkerName), "")
}

// PutCommand is the command that sets the named secrets, for messages.
func putCommand(tenantName, env string, names []string) string {
	cmds := make([]string, len(names))
	for i, n := range names {
		cmds[i] = fmt.Sprintf("go tool mage secrets:put %s %s %s < value-file", tenantName, env, n)
	}
	return strings.Join(cmds, "; ")
}

func bindingsOf(r tenant.ResolvedEnv, kind string) []tenant.Binding {
	var out []tenant.Binding
	for _, b := range r.Bindings {
		if b.Kind == kind {
			out = append(out, b)
		}
	}
	return out
}

func checkKV(ctx context.Context, api API, r tenant.ResolvedEnv, add func(string, Status, string, string)) {
	kvs := bindingsOf(r, "kv_namespaces")
	if len(kvs) == 0 {
		return
	}
	var list []cfapi.KVNamespace
	var listErr error
	for _, b := range kvs {
		name := "kv." + b.Name
		if b.Target == "" {
			add(name, Problem, fmt.Sprintf("KV binding %s has no id; wrangler would create a namespace on its own", b.Name),
				"create it (npx wrangler kv namespace create) and put its id into "+r.Tenant+"'s wrangler.jsonc")
			continue
		}
		if list == nil && listErr == nil {
			if list, listErr = api.KVNamespaces(ctx); list == nil {
				list = []cfapi.KVNamespace{}
			}
		}
		if listErr != nil {
			add(name, Problem, fmt.Sprintf("cannot list the KV namespaces of account %s: %s", r.AccountID, denied(listErr, grantKV)),
				fmt.Sprintf("give the token %s in account %s", grantKV, r.AccountID))
			continue
		}
		if slices.ContainsFunc(list, func(n cfapi.KVNamespace) bool { return n.ID == b.Target }) {
			add(name, OK, fmt.Sprintf("KV namespace %s exists in account %s", b.Target, r.AccountID), "")
			continue
		}
		add(name, Problem, fmt.Sprintf("binding %s's KV namespace %s does not exist in account %s", b.Name, b.Target, r.AccountID),
			fmt.Sprintf("fix the id in %s's wrangler.jsonc (%s kv_namespaces; a copied tenant keeps the other tenant's ids) or create the namespace in account %s",
				r.Tenant, r.Env.Label(), r.AccountID))
	}
}

func checkVectorize(ctx context.Context, api API, r tenant.ResolvedEnv, add func(string, Status, string, string)) {
	for _, b := range bindingsOf(r, "vectorize") {
		name := "vectorize." + b.Name
		if b.Target == "" {
			add(name, Problem, fmt.Sprintf("Vectorize binding %s names no index", b.Name), "set index_name in "+r.Tenant+"'s wrangler.jsonc")
			continue
		}
		_, err := api.VectorizeIndex(ctx, b.Target)
		switch {
		case err == nil:
			add(name, OK, fmt.Sprintf("Vectorize index %s exists in account %s", b.Target, r.AccountID), "")
		case errors.Is(err, cfapi.ErrUnauthorized):
			add(name, Problem, fmt.Sprintf("cannot read Vectorize index %s: %s", b.Target, denied(err, grantVectorize)),
				fmt.Sprintf("give the token %s in account %s", grantVectorize, r.AccountID))
		case errors.Is(err, cfapi.ErrNotFound):
			add(name, Problem, fmt.Sprintf("binding %s's Vectorize index %s does not exist in account %s", b.Name, b.Target, r.AccountID),
				fmt.Sprintf("create it (npx wrangler vectorize create %s --dimensions=768 --metric=cosine) in account %s, or fix index_name in %s's wrangler.jsonc", b.Target, r.AccountID, r.Tenant))
		default:
			add(name, Problem, fmt.Sprintf("cannot read Vectorize index %s: %v", b.Target, err), "retry; if it persists, check Cloudflare's status")
		}
	}
}

// newClasses are the Durable Object classes that the migrations after liveTag create (all
// of them for a Worker that does not exist yet): this deploy creates them, so they need not
// exist.
func newClasses(migs []tenant.Migration, liveTag string, first bool) map[string]string {
	start := 0
	if !first && liveTag != "" {
		start = len(migs) // the live tag is unknown here: nothing counts as new
		for i, m := range migs {
			if m.Tag == liveTag {
				start = i + 1
				break
			}
		}
	}
	out := map[string]string{}
	for _, m := range migs[start:] {
		for _, c := range slices.Concat(m.NewClasses, m.NewSqliteClasses) {
			out[c] = m.Tag
		}
		for _, rc := range m.RenamedClasses {
			out[rc.To] = m.Tag
		}
	}
	return out
}

func checkDurableObjects(ctx context.Context, api API, r tenant.ResolvedEnv, liveTag string, first, exists bool, add func(string, Status, string, string)) {
	dos := bindingsOf(r, "durable_objects")
	if len(dos) == 0 {
		return
	}
	created := newClasses(r.Migrations, liveTag, first)
	var list []cfapi.DurableObjectNamespace
	var listErr error
	listed := false
	for _, b := range dos {
		name := "durable_object." + b.Name
		owner := b.ScriptName
		if owner == "" || owner == r.WorkerName {
			owner = r.WorkerName
			if tag, ok := created[b.Target]; ok {
				add(name, OK, fmt.Sprintf("class %s is created by this deploy's migration %s", b.Target, tag), "")
				continue
			}
			if !first && !exists {
				continue // the account check failed and said why
			}
		}
		if !listed {
			list, listErr = api.DurableObjectNamespaces(ctx)
			listed = true
		}
		if listErr != nil {
			add(name, Problem, fmt.Sprintf("cannot list the Durable Object namespaces of account %s: %s", r.AccountID, denied(listErr, grantScripts)),
				fmt.Sprintf("give the token %s in account %s", grantScripts, r.AccountID))
			continue
		}
		if slices.ContainsFunc(list, func(n cfapi.DurableObjectNamespace) bool { return n.Class == b.Target && n.Script == owner }) {
			add(name, OK, fmt.Sprintf("Durable Object class %s of %s exists in account %s", b.Target, owner, r.AccountID), "")
			continue
		}
		fix := fmt.Sprintf("add a migration creating %s to %s's wrangler.jsonc, or deploy %s first", b.Target, r.Tenant, owner)
		add(name, Problem, fmt.Sprintf("binding %s's Durable Object class %s of %s does not exist in account %s and no new migration creates it", b.Name, b.Target, owner, r.AccountID), fix)
	}
}

// denied renders an API error; a 403 becomes "permission denied (403): the token lacks <grant>".
func denied(err error, grant string) string {
	var ae *cfapi.APIError
	if errors.As(err, &ae) && (ae.Status == 403 || ae.HasCode(cfapi.CodeAuthError)) {
		return fmt.Sprintf("permission denied (HTTP %d): the token lacks %s", ae.Status, grant)
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func tokenVar(tenantName string) string {
	return "CLOUDFLARE_API_TOKEN_" + strings.ToUpper(strings.ReplaceAll(tenantName, "-", "_"))
}

// Dial builds the API client of one target, or says why it cannot (no token, say).
type Dial func(ctx context.Context, t Target) (API, error)

// RunAll checks every target concurrently (at most parallel at once) and returns the reports
// in target order. A target that cannot be dialled gets a report with Error set.
func RunAll(ctx context.Context, targets []Target, dial Dial, parallel int) ([]Report, error) {
	out := make([]Report, len(targets))
	var g errgroup.Group
	g.SetLimit(max(parallel, 1))
	for i, t := range targets {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				out[i] = Report{Tenant: t.Tenant, Env: string(t.Resolved.Env), Worker: t.Resolved.WorkerName, AccountID: t.Resolved.AccountID, Error: err.Error()}
				return nil
			}
			api, err := dial(ctx, t)
			if err != nil {
				out[i] = Report{Tenant: t.Tenant, Env: string(t.Resolved.Env), Worker: t.Resolved.WorkerName, AccountID: t.Resolved.AccountID, Error: err.Error()}
				return nil
			}
			out[i], _ = Run(ctx, api, t)
			return nil
		})
	}
	_ = g.Wait() // every task reports in out; none returns an error
	return out, ctx.Err()
}
