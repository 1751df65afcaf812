package sandbox

import (
	"encoding/json"
	"maps"
	"slices"
)

// world is everything the sandbox remembers; it is what the state file holds.
type world struct {
	Accounts map[string]*accountState `json:"accounts"`
	// Zones maps a zone name (example.com) to its id; empty unless a test or operator adds one,
	// so route look-ups page through nothing, as they would for a zone outside the account.
	Zones map[string]string `json:"zones"`
	// ZoneRoutes are routes created through the zone API (wrangler's fallback path).
	ZoneRoutes map[string][]Route `json:"zone_routes"`
	// Unhealthy lists version ids whose workers.dev answers fail.
	Unhealthy []string `json:"unhealthy"`
	// LastStamp is the newest timestamp handed out; new ones are strictly later so that
	// lexical order of created_on equals creation order even within one microsecond.
	LastStamp string `json:"last_stamp"`
}

type accountState struct {
	ID        string                  `json:"id"`
	Name      string                  `json:"name"`
	Subdomain string                  `json:"subdomain"`
	Token     string                  `json:"token"`
	Scripts   map[string]*scriptState `json:"scripts"`
	Resources *resourceState          `json:"resources,omitempty"`
}

// scriptState is one Worker. Versions and Deployments are kept newest first, the order the
// API returns them in.
type scriptState struct {
	Name         string                 `json:"name"`
	Tag          string                 `json:"tag"`
	Tags         []string               `json:"tags"`
	MigrationTag string                 `json:"migration_tag"`
	CreatedOn    string                 `json:"created_on"`
	ModifiedOn   string                 `json:"modified_on"`
	Versions     []*Version             `json:"versions"`
	Deployments  []*Deployment          `json:"deployments"`
	Secrets      map[string]secretState `json:"secrets"`
	// SecretValues maps a secret digest to its value, for the workerd edge: each version
	// sees the secrets it was created with (SecretDigests), as on Cloudflare. The values
	// are rehearsal values (no real token ever reaches the sandbox); the API never answers
	// them and the state file is private to the user.
	SecretValues   map[string]string `json:"secret_values,omitempty"`
	Schedules      []Schedule        `json:"schedules"`
	Subdomain      SubdomainSettings `json:"subdomain"`
	Routes         []Route           `json:"routes"`
	Domains        []Domain          `json:"domains"`
	ScriptSettings ScriptSettings    `json:"script_settings"`
	NextNumber     int               `json:"next_number"`
}

// secretState is a secret as the API describes it; the digest tells whether it changed, and
// the value itself sits in scriptState.SecretValues under that digest.
type secretState struct {
	Type       string `json:"type"`
	Digest     string `json:"digest"`
	ModifiedOn string `json:"modified_on"`
}

// Version is one immutable upload of a Worker: code, bindings and runtime settings.
type Version struct {
	ID                 string            `json:"id"`
	Number             int               `json:"number"`
	CreatedOn          string            `json:"created_on"`
	Source             string            `json:"source"`
	AuthorEmail        string            `json:"author_email"`
	Annotations        map[string]string `json:"annotations"`
	Bindings           []Binding         `json:"bindings"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	UsageModel         string            `json:"usage_model"`
	Limits             json.RawMessage   `json:"limits,omitempty"`
	Placement          json.RawMessage   `json:"placement,omitempty"`
	MainModule         string            `json:"main_module"`
	Modules            []Module          `json:"modules"`
	Etag               string            `json:"etag"`
	Handlers           []string          `json:"handlers"`
	MigrationTag       string            `json:"migration_tag,omitempty"`
	StartupTimeMs      int               `json:"startup_time_ms"`
	// SecretDigests is the secret set this version was created with, name -> digest; a
	// deployment of this version is refused (10220) when the script's secrets differ since.
	SecretDigests map[string]string `json:"secret_digests"`
}

// Binding is one binding as uploaded in the metadata (plain_text, kv_namespace, ...). Secret
// bindings are never stored here: secrets live on the script.
type Binding map[string]any

// Name is the binding's variable name.
func (b Binding) Name() string { s, _ := b["name"].(string); return s }

// Type is the binding's type, e.g. "plain_text".
func (b Binding) Type() string { s, _ := b["type"].(string); return s }

// Module is one uploaded module part, kept byte for byte.
type Module struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Deployment says which versions serve traffic and at what percentages.
type Deployment struct {
	ID          string              `json:"id"`
	Source      string              `json:"source"`
	Strategy    string              `json:"strategy"`
	AuthorEmail string              `json:"author_email"`
	CreatedOn   string              `json:"created_on"`
	Versions    []DeploymentVersion `json:"versions"`
	Annotations map[string]string   `json:"annotations,omitempty"`
}

// DeploymentVersion is one version's share of a deployment.
type DeploymentVersion struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

// Schedule is one cron trigger.
type Schedule struct {
	Cron       string `json:"cron"`
	CreatedOn  string `json:"created_on"`
	ModifiedOn string `json:"modified_on"`
}

// SubdomainSettings is the script's workers.dev switch.
type SubdomainSettings struct {
	Enabled         bool `json:"enabled"`
	PreviewsEnabled bool `json:"previews_enabled"`
}

// Route is a zone route pattern bound to a script.
type Route struct {
	ID       string `json:"id"`
	Pattern  string `json:"pattern"`
	ZoneName string `json:"zone_name,omitempty"`
	ZoneID   string `json:"zone_id,omitempty"`
	Script   string `json:"script,omitempty"`
}

// Domain is a custom domain attached to a script.
type Domain struct {
	ID          string `json:"id"`
	CertID      string `json:"cert_id"`
	Environment string `json:"environment"`
	Hostname    string `json:"hostname"`
	Service     string `json:"service"`
	ZoneID      string `json:"zone_id"`
	ZoneName    string `json:"zone_name"`
}

// ScriptSettings are the settings that are not versioned (/script-settings).
type ScriptSettings struct {
	Logpush       bool            `json:"logpush"`
	Observability json.RawMessage `json:"observability,omitempty"`
	TailConsumers json.RawMessage `json:"tail_consumers,omitempty"`
}

func (v *Version) clone() Version {
	c := *v
	c.Annotations = maps.Clone(v.Annotations)
	c.Bindings = make([]Binding, len(v.Bindings))
	for i, b := range v.Bindings {
		c.Bindings[i] = maps.Clone(b)
	}
	c.CompatibilityFlags = slices.Clone(v.CompatibilityFlags)
	c.Modules = slices.Clone(v.Modules)
	c.Handlers = slices.Clone(v.Handlers)
	c.SecretDigests = maps.Clone(v.SecretDigests)
	return c
}

func (d *Deployment) clone() Deployment {
	c := *d
	c.Versions = slices.Clone(d.Versions)
	c.Annotations = maps.Clone(d.Annotations)
	return c
}

func (sc *scriptState) version(id string) *Version {
	for _, v := range sc.Versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// live is the current deployment, or nil before the first one.
func (sc *scriptState) live() *Deployment {
	if len(sc.Deployments) == 0 {
		return nil
	}
	return sc.Deployments[0]
}

// liveVersion is the version carrying most of the current traffic; before any deployment it
// is the newest version. Script-level reads (/settings, content) describe this one.
func (sc *scriptState) liveVersion() *Version {
	if d := sc.live(); d != nil {
		best := -1.0
		var v *Version
		for _, dv := range d.Versions {
			if dv.Percentage > best {
				if cand := sc.version(dv.VersionID); cand != nil {
					best, v = dv.Percentage, cand
				}
			}
		}
		if v != nil {
			return v
		}
	}
	if len(sc.Versions) > 0 {
		return sc.Versions[0]
	}
	return nil
}

func (sc *scriptState) secretDigests() map[string]string {
	m := make(map[string]string, len(sc.Secrets))
	for name, s := range sc.Secrets {
		m[name] = s.Digest
	}
	return m
}
