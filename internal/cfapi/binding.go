package cfapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Binding is one Worker binding in a form that compares by meaning: the same binding read
// from the API, from an upload's metadata or from a dry-run bundle is Equal, whatever the
// key order, spacing or omitted empty fields.
type Binding struct {
	Name string
	Type string
	// Props holds every other field as canonical JSON (sorted keys, no spaces), for example
	// {"namespace_id": "\"0f2a…\""}. Null and "" fields are left out: the API omits them.
	Props map[string]string
}

// Secret reports whether the binding is a secret, whose value is never readable.
func (b Binding) Secret() bool { return b.Type == "secret_text" || b.Type == "secret_key" }

// Equal compares name, type and every property.
func (b Binding) Equal(o Binding) bool {
	if b.Name != o.Name || b.Type != o.Type || len(b.Props) != len(o.Props) {
		return false
	}
	for k, v := range b.Props {
		if ov, ok := o.Props[k]; !ok || ov != v {
			return false
		}
	}
	return true
}

// String is a stable one-line form, e.g. `kv_namespace CACHE {"namespace_id":"0f2a"}`. A
// secret's text is never shown (the API does not return it; this guards against callers).
func (b Binding) String() string {
	keys := make([]string, 0, len(b.Props))
	for k := range b.Props {
		if b.Secret() && k == "text" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString(b.Type + " " + b.Name)
	if len(keys) > 0 {
		sb.WriteString(" {")
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%q:%s", k, b.Props[k])
		}
		sb.WriteByte('}')
	}
	return sb.String()
}

// Bindings is a set of bindings, kept sorted by name then type.
type Bindings []Binding

// ParseBindings reads a JSON array of bindings as Cloudflare writes them: the "bindings" of
// an upload's metadata (wrangler --dry-run --outfile), of /settings or of a version.
func ParseBindings(data []byte) (Bindings, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("bindings: not a JSON array of objects: %w", err)
	}
	return normalizeBindings(raws)
}

func normalizeBindings(raws []json.RawMessage) (Bindings, error) {
	out := make(Bindings, 0, len(raws))
	for i, raw := range raws {
		b, err := normalizeBinding(raw)
		if err != nil {
			return nil, fmt.Errorf("bindings[%d]: %w", i, err)
		}
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out, nil
}

func normalizeBinding(raw []byte) (Binding, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as written
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return Binding{}, fmt.Errorf("not a JSON object: %w", err)
	}
	name, _ := fields["name"].(string)
	typ, _ := fields["type"].(string)
	if name == "" || typ == "" {
		return Binding{}, fmt.Errorf("a binding needs a string name and type, got %s", truncate(string(raw), 80))
	}
	b := Binding{Name: name, Type: typ, Props: map[string]string{}}
	for k, v := range fields {
		if k == "name" || k == "type" || v == nil || v == "" {
			continue
		}
		canon, err := json.Marshal(v) // maps marshal with sorted keys
		if err != nil {
			return Binding{}, fmt.Errorf("binding %s: field %s: %w", name, k, err)
		}
		b.Props[k] = string(canon)
	}
	return b, nil
}

// WithoutSecrets drops secret bindings: their values are unreadable and their names are
// compared through Secrets instead.
func (bs Bindings) WithoutSecrets() Bindings {
	out := make(Bindings, 0, len(bs))
	for _, b := range bs {
		if !b.Secret() {
			out = append(out, b)
		}
	}
	return out
}

// ByName finds a binding.
func (bs Bindings) ByName(name string) (Binding, bool) {
	for _, b := range bs {
		if b.Name == name {
			return b, true
		}
	}
	return Binding{}, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
