package validate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Rules for the mistakes of a tenant added by copying a folder or edited by hand that
// wrangler's dry run accepts but Cloudflare, the runtime or another tenant's data would
// punish. Stable ids: add new ones, never rename.
const (
	RuleBindingIDMissing      = "binding-id-missing"
	RuleKVIDInvalid           = "kv-id-invalid"
	RuleKVIDShared            = "kv-id-shared"
	RuleVectorizeNameInvalid  = "vectorize-index-invalid"
	RuleVectorizeIndexForeign = "vectorize-index-foreign"
	RuleVectorizeIndexShared  = "vectorize-index-shared"
	RuleDOScriptForeign       = "do-script-foreign"
	RuleMigrationTagDuplicate = "migration-tag-duplicate"
	RuleCronInvalid           = "cron-invalid"
	RuleDisplayNameDuplicate  = "display-name-duplicate"
)

var (
	kvIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// Vectorize index names: lower-case letters, digits and dashes, starting with a letter
	// (Cloudflare's rule); 64 characters is the length the API documents as the cap.
	vectorizeNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)
)

// provisioned are the binding kinds wrangler 4.63.0 creates a resource for when the binding
// names none, and the field that names it.
var provisioned = map[string]string{"kv_namespaces": "id", "d1_databases": "database_id", "r2_buckets": "bucket_name"}

// resources runs the per-env resource rules.
func (r *rules) resources(e tenant.ResolvedEnv) {
	env := e.Env
	for _, b := range e.Bindings {
		field, prov := provisioned[b.Kind]
		switch {
		case prov && b.Target == "":
			r.wr(b.Pointer, false, RuleBindingIDMissing,
				fmt.Sprintf("%s binding %s in %s names no %s; wrangler would create a new resource in the account on its own", b.Kind, b.Name, env.Label(), field),
				fmt.Sprintf("create it once (npx wrangler kv namespace create, d1 create, r2 bucket create) and put its %s here", field))
		case b.Kind == "kv_namespaces" && !kvIDRe.MatchString(b.Target):
			r.wr(b.Pointer+"/id", false, RuleKVIDInvalid,
				fmt.Sprintf("KV namespace id %q of binding %s is not 32 lower-case hex characters", b.Target, b.Name),
				"copy the id from `npx wrangler kv namespace list` or the dashboard; a title is not an id")
		case b.Kind == "vectorize" && b.Target != "" && !vectorizeNameRe.MatchString(b.Target):
			r.wr(b.Pointer+"/index_name", false, RuleVectorizeNameInvalid,
				fmt.Sprintf("Vectorize index name %q of binding %s must be lower-case letters, digits and dashes, starting with a letter, at most 64 characters", b.Target, b.Name),
				"Cloudflare refuses other names; rename it, e.g. "+r.t.Name+"-docs-"+string(env))
		case b.Kind == "vectorize" && b.Target != "" && !strings.HasPrefix(b.Target, r.t.Name+"-") && b.Target != r.t.Name:
			r.wr(b.Pointer+"/index_name", false, RuleVectorizeIndexForeign,
				fmt.Sprintf("Vectorize index %q of binding %s does not start with the tenant name %q", b.Target, b.Name, r.t.Name),
				"a copied tenant keeps the other tenant's index names; use <tenant>-docs-<env>")
		case b.Kind == "durable_objects" && b.ScriptName != "" && b.ScriptName != r.t.Name && !strings.HasPrefix(b.ScriptName, r.t.Name+"-"):
			r.wr(b.Pointer+"/script_name", false, RuleDOScriptForeign,
				fmt.Sprintf("Durable Object binding %s points at Worker %q, which is not one of tenant %s's Workers", b.Name, b.ScriptName, r.t.Name),
				"Durable Objects are per account: another tenant's Worker lives in another account; remove script_name to use this Worker's own class")
		}
	}
	// Migration tags order the migrations: a repeated tag makes Cloudflare refuse the upload
	// or, worse, skip a step.
	seen := map[string]int{}
	if ptr := r.definedAt(env, "migrations"); ptr != "" && (env == tenant.Dev || ptr != "/migrations") {
		for i, m := range e.Migrations {
			if j, dup := seen[m.Tag]; dup && m.Tag != "" {
				r.wr(fmt.Sprintf("%s/%d/tag", ptr, i), false, RuleMigrationTagDuplicate,
					fmt.Sprintf("migration tag %q repeats (also migrations[%d])", m.Tag, j),
					"every migration needs a new tag (v1, v2, ...); never edit or reuse one that was deployed")
			}
			seen[m.Tag] = i
		}
	}
	if ptr := r.definedAt(env, "triggers"); ptr != "" && (env == tenant.Dev || ptr != "/triggers") {
		for i, c := range e.Crons {
			if why := cronProblem(c); why != "" {
				r.wr(fmt.Sprintf("%s/crons/%d", ptr, i), false, RuleCronInvalid,
					fmt.Sprintf("cron %q: %s", c, why),
					`Cloudflare takes five fields: minute hour day-of-month month day-of-week, e.g. "0 * * * *"`)
			}
		}
	}
}

// cronFields are the five fields of a Cloudflare cron trigger and their ranges. Day of week
// also takes SUN-SAT, month JAN-DEC, and day of month L and W; those pass unchecked.
var cronFields = []struct {
	name     string
	min, max int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}}

var cronToken = regexp.MustCompile(`^(\*|\?|[0-9A-Z#LW]+(-[0-9A-Z]+)?)(/[0-9]+)?$`)

func cronProblem(c string) string {
	fs := strings.Fields(c)
	if len(fs) != 5 {
		return fmt.Sprintf("has %d fields, not 5", len(fs))
	}
	for i, f := range fs {
		spec := cronFields[i]
		for part := range strings.SplitSeq(strings.ToUpper(f), ",") {
			if !cronToken.MatchString(part) {
				return fmt.Sprintf("%s field %q is not a value, range, list or step", spec.name, f)
			}
			base, _, _ := strings.Cut(part, "/")
			for _, n := range strings.Split(base, "-") {
				v, err := strconv.Atoi(n)
				if err != nil {
					continue // *, names, L, W, #
				}
				if v < spec.min || v > spec.max {
					return fmt.Sprintf("%s %d is outside %d-%d", spec.name, v, spec.min, spec.max)
				}
			}
		}
	}
	return ""
}

// crossResources finds resources that two tenants, or two envs of one tenant, share: a KV
// namespace id (globally unique, so a shared one is a copied one: the tenants would read each
// other's data), a Vectorize index of one account, and display names.
func crossResources(cs []*checked) []Problem {
	var ps []Problem
	type site = usedAt
	group := func(rule, what, hint string, m map[string][]site, label func(string) string) {
		ps = append(ps, sharedUse(rule, what, hint, m, label)...)
	}
	kv := map[string][]site{}
	vec := map[string][]site{}
	display := map[string][]site{}
	shown := map[string]string{} // display names compare without case; messages show them as written
	for _, c := range cs {
		if c.t == nil {
			continue
		}
		if n := strings.TrimSpace(c.t.Config.DisplayName); n != "" {
			display[strings.ToLower(n)] = append(display[strings.ToLower(n)], site{c.t.ConfigDoc, "/display_name", c.name})
			shown[strings.ToLower(n)] = n
		}
		for _, e := range c.envs {
			// A binding inherited from the top level (not possible for bindings today) would
			// repeat the same site: count each pointer once.
			for _, b := range e.Bindings {
				who := c.name + "/" + string(e.Env)
				switch {
				case b.Kind == "kv_namespaces" && kvIDRe.MatchString(b.Target):
					kv[b.Target] = append(kv[b.Target], site{c.t.WranglerDoc, b.Pointer + "/id", who + " (" + b.Name + ")"})
				case b.Kind == "vectorize" && b.Target != "":
					key := e.AccountID + "/" + b.Target
					vec[key] = append(vec[key], site{c.t.WranglerDoc, b.Pointer + "/index_name", who + " (" + b.Name + ")"})
				}
			}
		}
	}
	plain := func(k string) string { return k }
	group(RuleKVIDShared, "KV namespace id", "every tenant and env has its own namespace (a copied tenant keeps the other's ids); create one with `npx wrangler kv namespace create` and use its id", kv, plain)
	group(RuleVectorizeIndexShared, "Vectorize index", "every env has its own index in the account, or staging writes production's vectors; use <tenant>-docs-<env>", vec,
		func(k string) string { _, name, _ := strings.Cut(k, "/"); return name })
	group(RuleDisplayNameDuplicate, "display_name", "a copied tenant keeps the other's display name; reports and summaries would mix them up", display,
		func(k string) string { return shown[k] })
	return ps
}

// usedAt is one place a value is written: the file, the JSON pointer and who it belongs to.
type usedAt struct {
	doc *jsonc.Document
	ptr string
	who string
}

// sharedUse reports, for every value used at two or more places, one problem per place
// naming the others.
func sharedUse(rule, what, hint string, m map[string][]usedAt, label func(string) string) []Problem {
	var ps []Problem
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sites := m[k]
		if len(sites) < 2 {
			continue
		}
		for _, s := range sites {
			var others []string
			for _, o := range sites {
				if o != s {
					others = append(others, o.who)
				}
			}
			line, col := s.doc.Position(s.ptr)
			ps = append(ps, Problem{Path: s.doc.Rel, Line: line, Col: col, Rule: rule,
				Message: fmt.Sprintf("%s %q is also used by %s", what, label(k), strings.Join(others, ", ")), Hint: hint})
		}
	}
	return ps
}
