package drift

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
)

// Status is a tenant/env's sync status.
type Status string

const (
	// InSync: Cloudflare runs exactly what the repository would deploy.
	InSync Status = "in_sync"
	// Drifted: it runs something else; Changes says what.
	Drifted Status = "drifted"
	// Missing: the Worker is not deployed at all.
	Missing Status = "missing"
	// Error: the state could not be read; Error says why.
	Error Status = "error"
)

// Change is one difference. Field names the thing ("vars.LOG_LEVEL", "code",
// "triggers.crons"); Expected is the repository's side and Actual Cloudflare's. An Added
// change has only Actual, a Removed change only Expected.
type Change struct {
	Field    string `json:"field"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
}

func (c Change) String() string {
	switch {
	case c.Expected == "":
		return fmt.Sprintf("%s: %s", c.Field, c.Actual)
	case c.Actual == "":
		return fmt.Sprintf("%s: %s", c.Field, c.Expected)
	default:
		return fmt.Sprintf("%s: %s -> %s", c.Field, c.Expected, c.Actual)
	}
}

// Changes groups the differences: Added exists only on Cloudflare, Removed only in the
// repository, Changed on both sides with different content.
type Changes struct {
	Added   []Change `json:"added"`
	Removed []Change `json:"removed"`
	Changed []Change `json:"changed"`
}

// Empty reports whether there is no difference.
func (c Changes) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Changed) == 0 }

// Count is the number of differences.
func (c Changes) Count() int { return len(c.Added) + len(c.Removed) + len(c.Changed) }

// Desired is what the repository would deploy for one tenant/env.
type Desired struct {
	// CodeSHA256 is the sha256 of the dry-run bundle's entry module.
	CodeSHA256 string
	// Bindings are the upload metadata's bindings, vars (plain_text, json) included.
	Bindings cfapi.Bindings
	// CompatibilityDate and CompatibilityFlags as the upload metadata has them.
	CompatibilityDate  string
	CompatibilityFlags []string
	// RequiredSecrets must each exist on the Worker (tenant.config.json required_secrets).
	RequiredSecrets []string
	// Crons are the cron triggers; nil means the config leaves them unmanaged (wrangler
	// does not touch schedules then), so they are not compared.
	Crons []string
	// Routes (zone route patterns) and Domains (custom domain hostnames) configured.
	Routes  []string
	Domains []string
	// RecordedVersion is the version our last succeeded deploy record says went live; ""
	// when there is no such record (then nothing can be said about outside deploys).
	RecordedVersion string
}

// Live is what Cloudflare runs for one Worker.
type Live struct {
	// Deployed is false when the Worker does not exist or has no deployment.
	Deployed bool
	// VersionID is the version serving (the largest share of the deployment).
	VersionID string
	// TriggeredBy is the serving version's workers/triggered_by annotation ("secret" for the
	// version Cloudflare makes when a secret is put or deleted).
	TriggeredBy string
	// Split lists every version of the deployment when traffic is split between several.
	Split []cfapi.TrafficSplit
	// CodeSHA256 is the sha256 of the serving version's entry module.
	CodeSHA256 string
	// Bindings of the serving version; secret bindings are ignored here (see Secrets).
	Bindings           cfapi.Bindings
	CompatibilityDate  string
	CompatibilityFlags []string
	// Secrets are the names of the Worker's secrets.
	Secrets []string
	Crons   []string
	Routes  []string
	Domains []string
}

// varTypes are the binding types wrangler uses for "vars".
var varTypes = map[string]bool{"plain_text": true, "json": true}

// Compare lists every difference between the repository's desired state and the live one.
// It returns Missing when nothing is deployed, InSync when the changes are empty, Drifted
// otherwise.
func Compare(d Desired, l Live) (Status, Changes) {
	if !l.Deployed {
		return Missing, Changes{}
	}
	var c Changes
	if d.CodeSHA256 != l.CodeSHA256 {
		c.Changed = append(c.Changed, Change{Field: "code", Expected: "sha256:" + d.CodeSHA256, Actual: "sha256:" + orNone(l.CodeSHA256)})
	}
	compareBindings(&c, d.Bindings, l.Bindings.WithoutSecrets())
	for _, s := range sortedSet(d.RequiredSecrets) {
		if !slices.Contains(l.Secrets, s) {
			c.Removed = append(c.Removed, Change{Field: "secrets." + s, Expected: "set (value not compared)"})
		}
	}
	if d.CompatibilityDate != l.CompatibilityDate {
		c.Changed = append(c.Changed, Change{Field: "compatibility_date", Expected: orNone(d.CompatibilityDate), Actual: orNone(l.CompatibilityDate)})
	}
	compareSet(&c, "compatibility_flags", d.CompatibilityFlags, l.CompatibilityFlags)
	if d.Crons != nil {
		compareSet(&c, "triggers.crons", d.Crons, l.Crons)
	}
	compareSet(&c, "routes", d.Routes, l.Routes)
	compareSet(&c, "custom_domains", d.Domains, l.Domains)
	if len(l.Split) > 1 {
		parts := make([]string, len(l.Split))
		for i, s := range l.Split {
			parts[i] = fmt.Sprintf("%s@%g%%", s.VersionID, s.Percentage)
		}
		c.Changed = append(c.Changed, Change{Field: "deployment", Expected: "one version at 100%", Actual: strings.Join(parts, " ")})
	}
	// Putting a secret (wrangler secret put, the dashboard) makes Cloudflare mint and deploy
	// a copy of the serving version. That is the normal way to manage secrets, not a deploy
	// outside this tool; what it changed (secret names) is compared above.
	if d.RecordedVersion != "" && l.VersionID != d.RecordedVersion && l.TriggeredBy != "secret" {
		c.Changed = append(c.Changed, Change{Field: "version", Expected: d.RecordedVersion + " (last succeeded record)", Actual: orNone(l.VersionID) + " (deployed outside this tool)"})
	}
	if c.Empty() {
		return InSync, c
	}
	return Drifted, c
}

// compareBindings matches bindings by name. Vars are reported as "vars.NAME" with their
// values; other bindings as "bindings.NAME" with their normalised form.
func compareBindings(c *Changes, want, got cfapi.Bindings) {
	field := func(b cfapi.Binding) string {
		if varTypes[b.Type] {
			return "vars." + b.Name
		}
		return "bindings." + b.Name
	}
	for _, w := range want {
		g, ok := got.ByName(w.Name)
		switch {
		case !ok:
			c.Removed = append(c.Removed, Change{Field: field(w), Expected: show(w)})
		case !covers(w, g):
			c.Changed = append(c.Changed, Change{Field: field(w), Expected: show(w), Actual: show(g)})
		}
	}
	for _, g := range got {
		if _, ok := want.ByName(g.Name); !ok {
			c.Added = append(c.Added, Change{Field: field(g), Actual: show(g)})
		}
	}
}

// covers reports whether the live binding g has the same type as w and every field w
// sets, with the same value. Cloudflare adds fields of its own to stored bindings (a
// Durable Object's namespace_id, say); those are not drift.
func covers(w, g cfapi.Binding) bool {
	if w.Type != g.Type {
		return false
	}
	for k, v := range w.Props {
		if g.Props[k] != v {
			return false
		}
	}
	return true
}

// show is a binding as a person reads it: a var's value, or the binding's normalised form.
func show(b cfapi.Binding) string {
	if b.Type == "plain_text" {
		var s string
		if err := json.Unmarshal([]byte(b.Props["text"]), &s); err == nil {
			return s
		}
		return b.Props["text"]
	}
	if b.Type == "json" {
		return b.Props["json"]
	}
	return b.String()
}

// compareSet reports items only on one side; order and duplicates do not count.
func compareSet(c *Changes, field string, want, got []string) {
	w, g := sortedSet(want), sortedSet(got)
	for _, x := range w {
		if !slices.Contains(g, x) {
			c.Removed = append(c.Removed, Change{Field: field, Expected: x})
		}
	}
	for _, x := range g {
		if !slices.Contains(w, x) {
			c.Added = append(c.Added, Change{Field: field, Actual: x})
		}
	}
}

func sortedSet(xs []string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// FromUploadMetadata fills the bindings and compatibility settings from the metadata part of
// the upload wrangler would send (wrangler.Bundle.Metadata): the same form Cloudflare stores,
// so vars and bindings compare like for like.
func (d *Desired) FromUploadMetadata(meta []byte) error {
	var m struct {
		Bindings           json.RawMessage `json:"bindings"`
		CompatibilityDate  string          `json:"compatibility_date"`
		CompatibilityFlags []string        `json:"compatibility_flags"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return fmt.Errorf("upload metadata: %w", err)
	}
	if len(m.Bindings) == 0 || string(m.Bindings) == "null" {
		m.Bindings = json.RawMessage("[]")
	}
	bs, err := cfapi.ParseBindings(m.Bindings)
	if err != nil {
		return fmt.Errorf("upload metadata: %w", err)
	}
	d.Bindings = bs.WithoutSecrets()
	d.CompatibilityDate = m.CompatibilityDate
	d.CompatibilityFlags = m.CompatibilityFlags
	return nil
}
