package validate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Cross-file rule ids. Stable: add new ones, never rename.
const (
	RuleDuplicateKey        = "duplicate-key"
	RuleTenantDirMismatch   = "tenant-dir-mismatch"
	RuleTenantDirInvalid    = "tenant-dir-invalid"
	RuleEnvMissing          = "env-missing"
	RuleEnvUnknown          = "env-unknown"
	RuleAccountIDMissing    = "account-id-missing"
	RuleAccountIDMismatch   = "account-id-mismatch"
	RuleAccountIDDuplicate  = "account-id-duplicate"
	RuleBindingMissing      = "binding-missing"
	RuleVarMissing          = "var-missing"
	RuleVarValueMismatch    = "var-value-mismatch"
	RuleVarLooksSecret      = "var-looks-secret"
	RuleDOMigrationMissing  = "do-migration-missing"
	RuleCompatDateMissing   = "compat-date-missing"
	RuleCompatDateInvalid   = "compat-date-invalid"
	RuleCompatDateFuture    = "compat-date-future"
	RuleWorkerNameMissing   = "worker-name-missing"
	RuleWorkerNameInvalid   = "worker-name-invalid"
	RuleWorkerNameForeign   = "worker-name-foreign"
	RuleWorkerNameDuplicate = "worker-name-duplicate"
	RuleSecretNameInvalid   = "secret-name-invalid"
	RuleSecretVarConflict   = "secret-var-conflict"
	RuleMainNotFound        = "main-not-found"
	RuleDevPortMismatch     = "dev-port-mismatch"
	RuleDevPortDuplicate    = "dev-port-duplicate"
	RuleSubdomainDuplicate  = "subdomain-duplicate"
)

var (
	secretNameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	accountIDRe  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// wrangler's own check (isValidName); Cloudflare also caps script names at 63.
	workerNameRe = regexp.MustCompile(`^[a-z0-9_][a-z0-9_-]*$`)
)

// Vars the Worker reads in every env; their values must match the tenant and the env.
const (
	varTenantID    = "TENANT_ID"
	varEnvironment = "ENVIRONMENT"
)

// featureBindings: a feature flag that is on makes this binding kind required in every env.
var featureBindings = map[string]string{"vector_search": "vectorize", "ai_chat": "ai"}

// alwaysRequired binding kinds: the health check reports the version id from version_metadata.
var alwaysRequired = []string{"version_metadata"}

// rules runs the single-tenant cross-file rules.
type rules struct {
	t    *tenant.Tenant
	now  time.Time
	envs []tenant.ResolvedEnv
	ps   []Problem
}

func (r *rules) at(doc *jsonc.Document, ptr string, key bool, rule, msg, hint string) {
	p := Problem{Path: doc.Rel, Rule: rule, Message: msg, Hint: hint}
	if key {
		p.Line, p.Col = doc.KeyPosition(ptr)
	} else {
		p.Line, p.Col = doc.Position(ptr)
	}
	r.ps = append(r.ps, p)
}

func (r *rules) wr(ptr string, key bool, rule, msg, hint string) {
	r.at(r.t.WranglerDoc, ptr, key, rule, msg, hint)
}

func (r *rules) cfg(ptr string, key bool, rule, msg, hint string) {
	r.at(r.t.ConfigDoc, ptr, key, rule, msg, hint)
}

// block points at an env's block: its key under "env", or the top-level object for dev.
func (r *rules) block(env tenant.Env, rule, msg, hint string) {
	r.wr(env.Pointer(), true, rule, msg, hint)
}

// definedAt is the pointer where env's value of key is written: in the env block, else at the
// top level when wrangler inherits it from there, else "".
func (r *rules) definedAt(env tenant.Env, key string) string {
	if p := env.Pointer() + "/" + key; r.t.WranglerDoc.Has(p) {
		return p
	}
	if env != tenant.Dev && !slices.Contains(tenant.NotInheritedKeys, key) && r.t.WranglerDoc.Has("/"+key) {
		return "/" + key
	}
	return ""
}

func (r *rules) run() []Problem {
	c := r.t.Config
	if c.TenantID != "" && c.TenantID != r.t.Name {
		r.cfg("/tenant_id", false, RuleTenantDirMismatch,
			fmt.Sprintf("tenant_id %q does not match the folder name %q", c.TenantID, r.t.Name),
			"rename the folder or fix tenant_id: tooling finds tenants by folder name")
	}
	for i, s := range c.RequiredSecrets {
		if !secretNameRe.MatchString(s) {
			r.cfg(jsonc.Pointer("required_secrets", fmt.Sprint(i)), false, RuleSecretNameInvalid,
				fmt.Sprintf("secret name %q is not upper-case letters, digits and underscores starting with a letter", s),
				"rename it, e.g. "+suggestSecretName(s))
		}
	}
	for _, n := range r.t.EnvNames() {
		if n != string(tenant.Staging) && n != string(tenant.Production) {
			r.wr(jsonc.Pointer("env", n), true, RuleEnvUnknown,
				fmt.Sprintf("env.%s is not an environment this tool deploys (staging, production; the top level is dev)", n),
				"rename it to staging or production, or remove it")
		}
	}
	for _, env := range tenant.Envs {
		if env != tenant.Dev && !r.t.WranglerDoc.Has(env.Pointer()) {
			ptr := "/env"
			if !r.t.WranglerDoc.Has(ptr) {
				ptr = ""
			}
			r.wr(ptr, true, RuleEnvMissing, fmt.Sprintf("no env.%s block", env),
				fmt.Sprintf("add env.%s with its own name, account_id, vars and bindings", env))
			continue
		}
		res, err := r.t.Resolve(env)
		if err != nil {
			continue // the schema check has reported the malformed value
		}
		r.envs = append(r.envs, res)
		r.perEnv(res)
	}
	r.sameBindingsEverywhere()
	return r.ps
}

func (r *rules) perEnv(e tenant.ResolvedEnv) {
	c := r.t.Config
	env := e.Env
	// Worker name.
	switch namePtr := r.definedAt(env, "name"); {
	case e.WorkerName == "":
		r.block(env, RuleWorkerNameMissing, fmt.Sprintf("%s has no Worker name", env.Label()),
			fmt.Sprintf("set \"name\": \"%s-api-%s\"", r.t.Name, env))
	case !workerNameRe.MatchString(e.WorkerName) || len(e.WorkerName) > 63:
		r.nameProblem(env, namePtr, RuleWorkerNameInvalid,
			fmt.Sprintf("Worker name %q must be lower-case letters, digits, - and _, at most 63 characters", e.WorkerName), "")
	case e.WorkerName != r.t.Name && !strings.HasPrefix(e.WorkerName, r.t.Name+"-"):
		r.nameProblem(env, namePtr, RuleWorkerNameForeign,
			fmt.Sprintf("Worker name %q does not start with the tenant name %q", e.WorkerName, r.t.Name),
			"a name without the tenant prefix can overwrite another tenant's Worker; use <tenant>-api-<env>")
	}
	// Account.
	if e.AccountID == "" {
		r.block(env, RuleAccountIDMissing, fmt.Sprintf("%s has no account_id", env.Label()),
			fmt.Sprintf("add \"account_id\": %q; without it wrangler uses whatever account it cached last", c.AccountID))
	} else if accountIDRe.MatchString(c.AccountID) && e.AccountID != c.AccountID {
		// (An ill-formed tenant account id is reported by the schema, not once per env here.)
		r.wr(r.definedAt(env, "account_id"), false, RuleAccountIDMismatch,
			fmt.Sprintf("account_id %q is not the tenant's account %q from tenant.config.json", e.AccountID, c.AccountID),
			"a wrong account id deploys into another tenant's account; copy account_id from tenant.config.json")
	}
	// Compatibility date.
	r.compatDate(e)
	// Entry module.
	if e.Main == "" {
		r.block(env, RuleMainNotFound, fmt.Sprintf("%s has no main entry module", env.Label()),
			`set "main": "../../apps/worker-api/src/index.ts"`)
	} else if !fileExists(e.MainPath) {
		r.wr(r.definedAt(env, "main"), false, RuleMainNotFound,
			fmt.Sprintf("main %q does not exist (resolved relative to wrangler.jsonc)", e.Main),
			"point it at the Worker's entry module, e.g. ../../apps/worker-api/src/index.ts")
	}
	// Vars.
	r.vars(e)
	// Durable Object classes need a migration that creates them.
	live := liveClasses(e.Migrations)
	for _, b := range e.Bindings {
		if b.Type != "durable_object_namespace" || b.Target == "" || (b.ScriptName != "" && b.ScriptName != e.WorkerName) {
			continue
		}
		if !live[b.Target] {
			r.wr(b.Pointer+"/class_name", false, RuleDOMigrationMissing,
				fmt.Sprintf("Durable Object class %q (binding %s) has no migration that creates it in %s", b.Target, b.Name, env.Label()),
				fmt.Sprintf(`add {"tag": "v<next>", "new_sqlite_classes": [%q]} to migrations`, b.Target))
		}
	}
	r.resources(e)
	// Dev port agreement.
	if env == tenant.Dev && c.Dev.Port != 0 {
		if dev, ok := r.t.Wrangler["dev"].(map[string]any); ok {
			if p, ok := dev["port"]; ok && fmt.Sprint(p) != fmt.Sprint(c.Dev.Port) {
				r.wr("/dev/port", false, RuleDevPortMismatch,
					fmt.Sprintf("dev.port %v differs from dev.port %d in tenant.config.json", p, c.Dev.Port),
					"use the same port in both files; tooling waits for the one in tenant.config.json")
			}
		}
	}
}

func (r *rules) nameProblem(env tenant.Env, ptr, rule, msg, hint string) {
	if ptr == "" {
		r.block(env, rule, msg+" (inherited from the top-level name)", hint)
		return
	}
	r.wr(ptr, false, rule, msg, hint)
}

func (r *rules) compatDate(e tenant.ResolvedEnv) {
	ptr := r.definedAt(e.Env, "compatibility_date")
	if e.CompatDate == "" {
		r.block(e.Env, RuleCompatDateMissing, fmt.Sprintf("%s has no compatibility_date", e.Env.Label()),
			"set \"compatibility_date\" to the date the Worker was last tested against, as YYYY-MM-DD")
		return
	}
	d, err := time.Parse(time.DateOnly, e.CompatDate)
	if err != nil {
		r.wr(ptr, false, RuleCompatDateInvalid, fmt.Sprintf("compatibility_date %q is not a real date (YYYY-MM-DD)", e.CompatDate),
			"use an existing calendar date such as 2026-01-20")
		return
	}
	today := r.now.UTC().Truncate(24 * time.Hour)
	if d.After(today) {
		r.wr(ptr, false, RuleCompatDateFuture, fmt.Sprintf("compatibility_date %s is in the future (today is %s)", e.CompatDate, today.Format(time.DateOnly)),
			"Cloudflare refuses future dates; use today's date or earlier")
	}
}

func (r *rules) vars(e tenant.ResolvedEnv) {
	c := r.t.Config
	env := e.Env
	varsPtr := env.Pointer() + "/vars"
	// Compared with the folder name, not tenant_id: tooling addresses tenants by folder, and a
	// wrong tenant_id is reported once (tenant-dir-mismatch) instead of once per env.
	want := map[string]string{varTenantID: r.t.Name, varEnvironment: string(env)}
	for _, k := range []string{varTenantID, varEnvironment} {
		got, ok := e.Vars[k]
		switch {
		case !ok:
			r.missingVar(env, k, fmt.Sprintf("the Worker reads %s; set it to %q", k, want[k]))
		case want[k] != "" && got != want[k]:
			r.wr(varsPtr+"/"+k, false, RuleVarValueMismatch,
				fmt.Sprintf("vars.%s is %q in %s, expected %q", k, got, env.Label(), want[k]),
				"the health check compares this value; a copy-pasted block from another tenant or env shows up here")
		}
	}
	plain := map[string]bool{}
	for _, b := range e.Bindings {
		if b.Type == "plain_text" {
			plain[b.Name] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(e.Vars)) {
		ptr := varsPtr + "/" + jsonc.EscapeToken(k)
		if slices.Contains(c.RequiredSecrets, k) {
			r.wr(ptr, true, RuleSecretVarConflict, fmt.Sprintf("%s is both a var and a required secret", k),
				"remove the var: the secret is set with `wrangler secret put "+k+"`")
		}
		if !plain[k] {
			continue // JSON-valued vars are structured settings; their encoding is not a token
		}
		if why := looksSecret(k, e.Vars[k]); why != "" {
			r.wr(ptr, false, RuleVarLooksSecret, fmt.Sprintf("vars.%s looks like a secret (%s); vars are stored and shown in plain text", k, why),
				fmt.Sprintf("remove it from wrangler.jsonc, rotate it, list %s in required_secrets and run `wrangler secret put %s --env <env>`", k, k))
		}
	}
}

func (r *rules) missingVar(env tenant.Env, name, hint string) {
	ptr := env.Pointer() + "/vars"
	if !r.t.WranglerDoc.Has(ptr) {
		ptr = env.Pointer()
	}
	r.wr(ptr, true, RuleVarMissing, fmt.Sprintf("%s has no var %s (vars are not inherited by wrangler environments)", env.Label(), name), hint)
}

// sameBindingsEverywhere: wrangler does not inherit bindings or vars into named envs, so a
// binding added to one env and forgotten in another silently does not exist there.
func (r *rules) sameBindingsEverywhere() {
	if len(r.envs) == 0 {
		return
	}
	type slot struct{ kind, name string }
	has := make([]map[slot]bool, len(r.envs))
	kinds := make([]map[string]bool, len(r.envs))
	var all []slot
	seen := map[slot]bool{}
	for i, e := range r.envs {
		has[i], kinds[i] = map[slot]bool{}, map[string]bool{}
		for _, b := range e.Bindings {
			s := slot{b.Kind, b.Name}
			has[i][s], kinds[i][b.Kind] = true, true
			if !seen[s] {
				seen[s] = true
				all = append(all, s)
			}
		}
	}
	required := slices.Clone(alwaysRequired)
	for _, f := range slices.Sorted(maps.Keys(featureBindings)) {
		if r.t.Config.Feature(f) {
			required = append(required, featureBindings[f])
		}
	}
	for i, e := range r.envs {
		reported := map[string]bool{}
		for _, k := range required {
			if !kinds[i][k] {
				reported[k] = true
				why := "the health check reads the version id from it"
				for f, fk := range featureBindings {
					if fk == k {
						why = "feature " + f + " is on in tenant.config.json"
					}
				}
				r.block(e.Env, RuleBindingMissing, fmt.Sprintf("%s has no %s binding; %s", e.Env.Label(), k, why),
					fmt.Sprintf("add the %s binding to %s (bindings are not inherited)", k, e.Env.Label()))
			}
		}
		for _, s := range all {
			if has[i][s] || reported[s.kind] {
				continue
			}
			var in []string
			for j, o := range r.envs {
				if has[j][s] {
					in = append(in, o.Env.Label())
				}
			}
			if s.kind == "vars" && (s.name == varTenantID || s.name == varEnvironment) {
				continue // vars() has reported it with the value to set
			}
			if s.kind == "vars" {
				r.missingVar(e.Env, s.name, fmt.Sprintf("it is set in %s; add it here too or remove it there", strings.Join(in, " and ")))
				continue
			}
			r.block(e.Env, RuleBindingMissing,
				fmt.Sprintf("%s has no %s binding %q (%s declare it); wrangler does not inherit bindings into environments", e.Env.Label(), s.kind, s.name, strings.Join(in, " and ")),
				fmt.Sprintf("copy the %s entry %q into %s with this env's own resource", s.kind, s.name, e.Env.Label()))
		}
	}
}

// liveClasses applies migrations in order and returns the Durable Object classes that exist
// after the last one.
func liveClasses(ms []tenant.Migration) map[string]bool {
	live := map[string]bool{}
	for _, m := range ms {
		for _, c := range m.NewClasses {
			live[c] = true
		}
		for _, c := range m.NewSqliteClasses {
			live[c] = true
		}
		for _, rc := range m.RenamedClasses {
			delete(live, rc.From)
			live[rc.To] = true
		}
		for _, c := range m.DeletedClasses {
			delete(live, c)
		}
	}
	return live
}

func suggestSecretName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "SECRET_" + out
	}
	return out
}

// crossTenant finds what two tenants (or two envs) must not share: Worker names, account ids,
// workers.dev subdomains and dev ports.
func crossTenant(cs []*checked) []Problem {
	var ps []Problem
	type site = usedAt
	group := func(rule, what, hint string, m map[string][]site) {
		ps = append(ps, sharedUse(rule, what, hint, m, func(k string) string { return k })...)
	}
	names := map[string][]site{}
	accounts := map[string][]site{}
	subdomains := map[string][]site{}
	ports := map[string][]site{}
	for _, c := range cs {
		if c.t == nil {
			continue
		}
		cfg := c.t.Config
		if cfg.AccountID != "" {
			accounts[cfg.AccountID] = append(accounts[cfg.AccountID], site{c.t.ConfigDoc, "/account_id", c.name})
		}
		if cfg.WorkersDevSubdomain != "" {
			subdomains[cfg.WorkersDevSubdomain] = append(subdomains[cfg.WorkersDevSubdomain], site{c.t.ConfigDoc, "/workers_dev_subdomain", c.name})
		}
		if cfg.Dev.Port != 0 {
			p := fmt.Sprint(cfg.Dev.Port)
			ports[p] = append(ports[p], site{c.t.ConfigDoc, "/dev/port", c.name})
		}
		rr := &rules{t: c.t}
		for _, e := range c.envs {
			if e.WorkerName == "" {
				continue
			}
			ptr := rr.definedAt(e.Env, "name")
			if ptr == "" {
				ptr = e.Env.Pointer()
			}
			names[e.WorkerName] = append(names[e.WorkerName], site{c.t.WranglerDoc, ptr, c.name + "/" + string(e.Env)})
		}
	}
	group(RuleWorkerNameDuplicate, "Worker name", "every tenant and env needs its own Worker name, or one deploy overwrites the other; use <tenant>-api-<env>", names)
	group(RuleAccountIDDuplicate, "account_id", "each tenant has its own Cloudflare account; copy the right id from the Cloudflare dashboard", accounts)
	group(RuleSubdomainDuplicate, "workers_dev_subdomain", "a workers.dev subdomain belongs to one account; health checks would reach the wrong tenant", subdomains)
	group(RuleDevPortDuplicate, "dev port", "give each tenant its own port so their dev servers can run side by side", ports)
	return ps
}
