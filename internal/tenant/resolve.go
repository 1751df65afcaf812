package tenant

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
)

// How wrangler 4.63.0 builds a named environment (normalizeAndValidateEnvironment in its
// config validation): keys in inheritedKeys fall back to the top level when env.<name> leaves
// them out; keys in bindingKeys (and vars) are not inherited: an env without them simply has
// none, and wrangler only warns. name is inherited with "-<env>" appended. Keys that exist
// only at the top level of the file (dev, keep_vars, send_metrics, ...) apply to every env.
var inheritedKeys = []string{
	"account_id", "compatibility_date", "compatibility_flags", "main", "find_additional_modules",
	"preserve_file_names", "base_dir", "workers_dev", "preview_urls", "route", "routes",
	"tsconfig", "jsx_factory", "jsx_fragment", "rules", "migrations", "triggers", "limits",
	"placement", "build", "assets", "no_bundle", "minify", "keep_names", "first_party_worker",
	"logfwdr", "logpush", "upload_source_maps", "observability", "compliance_region",
	"python_modules",
}

// NotInheritedKeys are the keys wrangler never copies from the top level into env.<name>:
// every env must repeat them. Exported for the validator's binding-missing rule.
var NotInheritedKeys = []string{
	"vars", "define", "durable_objects", "workflows", "cloudchamber", "containers",
	"kv_namespaces", "send_email", "queues", "r2_buckets", "d1_databases", "vectorize",
	"hyperdrive", "services", "analytics_engine_datasets", "dispatch_namespaces",
	"mtls_certificates", "tail_consumers", "streaming_tail_consumers", "unsafe", "browser", "ai",
	"images", "media", "pipelines", "secrets_store_secrets", "unsafe_hello_world",
	"worker_loaders", "ratelimits", "vpc_services", "version_metadata",
}

// topOnlyKeys exist only at the top of the file and hold for every environment.
var topOnlyKeys = []string{
	"dev", "keep_vars", "send_metrics", "legacy_env", "site", "alias", "wasm_modules",
	"text_blobs", "data_blobs", "pages_build_output_dir",
}

// ResolvedEnv is the effective configuration of one tenant environment: what wrangler deploys
// for `--env <WranglerEnv>` (or runs under wrangler dev for Dev).
type ResolvedEnv struct {
	Tenant string
	Env    Env
	// WranglerEnv is the value for wrangler's --env flag ("" for Dev).
	WranglerEnv string
	WorkerName  string
	AccountID   string
	// Main is the entry module as written (relative to wrangler.jsonc); MainPath is absolute.
	Main, MainPath string
	CompatDate     string
	CompatFlags    []string
	Vars           map[string]string
	Bindings       []Binding
	Crons          []string
	Routes         []Route
	Migrations     []Migration
	WorkersDev     bool
	PreviewURLs    *bool
	// Effective is the merged raw config of this env (inheritance applied, "env" removed),
	// the input for fingerprints and drift.
	Effective map[string]any
	// Pointer is the JSON pointer of this env's block in wrangler.jsonc ("" for Dev).
	Pointer string
}

// Binding is one binding of the Worker, normalised across wrangler's per-kind config shapes.
// Type uses the Cloudflare API's binding type names (plain_text, json, kv_namespace,
// durable_object_namespace, vectorize, ai, version_metadata, ...).
type Binding struct {
	Type string `json:"type"`
	Name string `json:"name"`
	// Kind is the wrangler.jsonc key the binding came from (kv_namespaces, vectorize, ...).
	Kind string `json:"kind"`
	// Target is the resource the binding points at: KV namespace id, Durable Object class,
	// Vectorize index, bucket, database id, service name; empty for ai and version_metadata.
	Target string `json:"target,omitempty"`
	// ScriptName is set for Durable Objects that live in another Worker.
	ScriptName string `json:"script_name,omitempty"`
	// Pointer locates the binding in wrangler.jsonc.
	Pointer string `json:"-"`
}

// Route is one route or custom domain of the Worker.
type Route struct {
	Pattern      string `json:"pattern"`
	ZoneName     string `json:"zone_name,omitempty"`
	ZoneID       string `json:"zone_id,omitempty"`
	CustomDomain bool   `json:"custom_domain,omitempty"`
}

// Migration is one Durable Object migration step.
type Migration struct {
	Tag              string            `json:"tag"`
	NewClasses       []string          `json:"new_classes,omitempty"`
	NewSqliteClasses []string          `json:"new_sqlite_classes,omitempty"`
	RenamedClasses   []RenamedClass    `json:"renamed_classes,omitempty"`
	DeletedClasses   []string          `json:"deleted_classes,omitempty"`
	Transferred      []json.RawMessage `json:"transferred_classes,omitempty"`
}

// RenamedClass is a rename step of a migration.
type RenamedClass struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Resolve computes the effective configuration of env following wrangler's inheritance rules.
// It fails when wrangler.jsonc has no block for env (the error lists the ones it has) or when
// a value needed here has the wrong shape.
func (t *Tenant) Resolve(env Env) (ResolvedEnv, error) {
	r := ResolvedEnv{Tenant: t.Name, Env: env, WranglerEnv: env.WranglerEnv(), Pointer: env.Pointer()}
	eff := map[string]any{}
	top := t.Wrangler
	if env == Dev {
		for k, v := range top {
			if k != "env" && k != "$schema" {
				eff[k] = v
			}
		}
	} else {
		envs, _ := top["env"].(map[string]any)
		raw, ok := envs[string(env)].(map[string]any)
		if !ok {
			return r, fmt.Errorf("resolve %s/%s: %s has no env.%s block; it defines %s; add env.%s to it",
				t.Name, env, t.WranglerDoc.Rel, env, strings.Join(t.definedEnvs(), ", "), env)
		}
		maps.Copy(eff, raw)
		for _, k := range inheritedKeys {
			if _, set := raw[k]; !set {
				if v, ok := top[k]; ok {
					eff[k] = v
				}
			}
		}
		if _, set := raw["name"]; !set {
			if n, ok := top["name"].(string); ok && n != "" {
				eff["name"] = n + "-" + string(env)
			}
		}
		for _, k := range topOnlyKeys {
			if v, ok := top[k]; ok {
				eff[k] = v
			}
		}
	}
	r.Effective = eff
	if err := r.fill(t); err != nil {
		return r, fmt.Errorf("resolve %s/%s: %w", t.Name, env, err)
	}
	return r, nil
}

// definedEnvs names the environments wrangler.jsonc has, for error messages.
func (t *Tenant) definedEnvs() []string {
	return append([]string{"dev (top level)"}, t.EnvNames()...)
}

// effective is the typed subset of a wrangler environment that ResolvedEnv exposes.
type effective struct {
	Name               string            `json:"name"`
	AccountID          string            `json:"account_id"`
	Main               string            `json:"main"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	WorkersDev         *bool             `json:"workers_dev"`
	PreviewURLs        *bool             `json:"preview_urls"`
	Vars               map[string]any    `json:"vars"`
	Route              json.RawMessage   `json:"route"`
	Routes             []json.RawMessage `json:"routes"`
	Triggers           struct {
		Crons []string `json:"crons"`
	} `json:"triggers"`
	Migrations []Migration `json:"migrations"`
}

func (r *ResolvedEnv) fill(t *Tenant) error {
	b, err := json.Marshal(r.Effective)
	if err != nil {
		return err
	}
	var e effective
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("%s: %s: %w (run `go tool mage validate %s` for the exact place)", t.WranglerDoc.Rel, r.Env.Label(), err, t.Name)
	}
	r.WorkerName, r.AccountID, r.Main = e.Name, e.AccountID, e.Main
	if e.Main != "" {
		r.MainPath = filepath.Clean(filepath.Join(t.Dir, filepath.FromSlash(e.Main)))
	}
	r.CompatDate, r.CompatFlags = e.CompatibilityDate, e.CompatibilityFlags
	r.PreviewURLs = e.PreviewURLs
	r.Crons = e.Triggers.Crons
	r.Migrations = e.Migrations
	// As wrangler's deploy does: routes wins, route is the one-route shorthand.
	routes := e.Routes
	if routes == nil && len(e.Route) > 0 && string(e.Route) != "null" {
		routes = []json.RawMessage{e.Route}
	}
	for _, raw := range routes {
		rt, err := parseRoute(raw)
		if err != nil {
			return fmt.Errorf("%s: %s: route: %w", t.WranglerDoc.Rel, r.Env.Label(), err)
		}
		r.Routes = append(r.Routes, rt)
	}
	// wrangler: workers_dev defaults to true exactly when there are no routes.
	r.WorkersDev = len(r.Routes) == 0
	if e.WorkersDev != nil {
		r.WorkersDev = *e.WorkersDev
	}
	r.Vars = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(e.Vars)) {
		v := e.Vars[k]
		typ := "plain_text"
		s, ok := v.(string)
		if !ok {
			typ = "json"
			j, _ := json.Marshal(v)
			s = string(j)
		}
		r.Vars[k] = s
		r.Bindings = append(r.Bindings, Binding{Type: typ, Name: k, Kind: "vars", Pointer: r.Pointer + jsonc.Pointer("vars", k)})
	}
	bs, err := bindingsOf(r.Effective, r.Pointer)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", t.WranglerDoc.Rel, r.Env.Label(), err)
	}
	r.Bindings = append(r.Bindings, bs...)
	return nil
}

func parseRoute(raw json.RawMessage) (Route, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return Route{Pattern: s}, nil
	}
	var rt Route
	if err := json.Unmarshal(raw, &rt); err != nil {
		return Route{}, err
	}
	return rt, nil
}

// bindingKinds maps a wrangler.jsonc list key to the API binding type, the field holding the
// binding's name and the field naming its target.
var bindingKinds = []struct {
	key, typ, nameField, targetField string
}{
	{"kv_namespaces", "kv_namespace", "binding", "id"},
	{"r2_buckets", "r2_bucket", "binding", "bucket_name"},
	{"d1_databases", "d1", "binding", "database_id"},
	{"vectorize", "vectorize", "binding", "index_name"},
	{"services", "service", "binding", "service"},
	{"hyperdrive", "hyperdrive", "binding", "id"},
	{"analytics_engine_datasets", "analytics_engine", "binding", "dataset"},
	{"send_email", "send_email", "name", "destination_address"},
	{"mtls_certificates", "mtls_certificate", "binding", "certificate_id"},
	{"dispatch_namespaces", "dispatch_namespace", "binding", "namespace"},
	{"workflows", "workflow", "binding", "name"},
	{"pipelines", "pipelines", "binding", "pipeline"},
	{"secrets_store_secrets", "secrets_store_secret", "binding", "secret_name"},
	{"ratelimits", "ratelimit", "name", "namespace_id"},
	{"worker_loaders", "worker_loader", "binding", ""},
	{"vpc_services", "vpc_service", "binding", "service_id"},
}

// singleKinds are the object-valued bindings with one name.
var singleKinds = []struct{ key, typ string }{
	{"ai", "ai"}, {"version_metadata", "version_metadata"}, {"browser", "browser"},
	{"images", "images"}, {"media", "media"},
}

// bindingsOf lists the bindings of an effective env in a stable order (by kind as listed
// above, then as written).
func bindingsOf(eff map[string]any, base string) ([]Binding, error) {
	var out []Binding
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	if do, ok := eff["durable_objects"]; ok {
		m, ok := do.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("durable_objects must be an object with a bindings list")
		}
		list, _ := m["bindings"].([]any)
		for i, it := range list {
			b, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("durable_objects.bindings[%d] must be an object", i)
			}
			out = append(out, Binding{Type: "durable_object_namespace", Kind: "durable_objects", Name: str(b, "name"), Target: str(b, "class_name"),
				ScriptName: str(b, "script_name"), Pointer: fmt.Sprintf("%s/durable_objects/bindings/%d", base, i)})
		}
	}
	for _, k := range bindingKinds {
		v, ok := eff[k.key]
		if !ok {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a list", k.key)
		}
		for i, it := range list {
			b, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s[%d] must be an object", k.key, i)
			}
			out = append(out, Binding{Type: k.typ, Kind: k.key, Name: str(b, k.nameField), Target: str(b, k.targetField), Pointer: fmt.Sprintf("%s/%s/%d", base, k.key, i)})
		}
	}
	if q, ok := eff["queues"].(map[string]any); ok {
		list, _ := q["producers"].([]any)
		for i, it := range list {
			if b, ok := it.(map[string]any); ok {
				out = append(out, Binding{Type: "queue", Kind: "queues", Name: str(b, "binding"), Target: str(b, "queue"), Pointer: fmt.Sprintf("%s/queues/producers/%d", base, i)})
			}
		}
	}
	for _, k := range singleKinds {
		v, ok := eff[k.key]
		if !ok {
			continue
		}
		b, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be an object with a binding name", k.key)
		}
		out = append(out, Binding{Type: k.typ, Kind: k.key, Name: str(b, "binding"), Pointer: base + "/" + k.key})
	}
	return out, nil
}

// HealthURL is the workers.dev URL of env's health endpoint:
// https://<worker>.<workers_dev_subdomain>.workers.dev<health path>. Dev has no workers.dev
// URL (it runs on localhost, port dev.port).
func (t *Tenant) HealthURL(env Env) (string, error) {
	if env == Dev {
		if t.Config.Dev.Port == 0 {
			return "", fmt.Errorf("health url %s/dev: tenant.config.json has no dev.port", t.Name)
		}
		return fmt.Sprintf("http://127.0.0.1:%d%s", t.Config.Dev.Port, t.Config.HealthCheck.Path), nil
	}
	r, err := t.Resolve(env)
	if err != nil {
		return "", err
	}
	if r.WorkerName == "" || t.Config.WorkersDevSubdomain == "" {
		return "", fmt.Errorf("health url %s/%s: needs the worker name and workers_dev_subdomain; run `go tool mage validate %s`", t.Name, env, t.Name)
	}
	if !r.WorkersDev {
		return "", fmt.Errorf("health url %s/%s: workers_dev is false, so the Worker has no workers.dev URL", t.Name, env)
	}
	return "https://" + r.WorkerName + "." + t.Config.WorkersDevSubdomain + ".workers.dev" + t.Config.HealthCheck.Path, nil
}
