package sandbox

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// startMessage asks the supervisor to run one version; options are Miniflare worker options.
type startMessage struct {
	Op      string        `json:"op"`
	Key     string        `json:"key"`
	Persist string        `json:"persist"`
	Options workerOptions `json:"options"`
}

type stopMessage struct {
	Op  string `json:"op"`
	Key string `json:"key"`
}

func startCall(key string, m *startMessage) *startMessage { m.Op, m.Key = "start", key; return m }
func stopCall(key string) stopMessage                     { return stopMessage{Op: "stop", Key: key} }

func msgKey(msg any) string {
	switch m := msg.(type) {
	case *startMessage:
		return m.Key
	case stopMessage:
		return m.Key
	}
	return ""
}

type workerOptions struct {
	Name               string                    `json:"name"`
	Modules            []mfModule                `json:"modules"`
	CompatibilityDate  string                    `json:"compatibilityDate,omitempty"`
	CompatibilityFlags []string                  `json:"compatibilityFlags"`
	Bindings           map[string]any            `json:"bindings"`
	KVNamespaces       map[string]string         `json:"kvNamespaces"`
	DurableObjects     map[string]durableObjects `json:"durableObjects"`
	Unavailable        map[string]string         `json:"unavailable"`
	Upstream           string                    `json:"upstream"`
}

type mfModule struct {
	Type     string `json:"type"`
	Path     string `json:"path"`
	Contents []byte `json:"contents"` // base64 in JSON
}

type durableObjects struct {
	ClassName string `json:"className"`
	UseSQLite bool   `json:"useSQLite"`
}

// moduleTypes maps upload part content types to Miniflare module types; source maps and
// anything unknown are not code and are left out.
var moduleTypes = map[string]string{
	"application/javascript+module": "ESModule",
	"text/javascript+module":        "ESModule",
	"application/javascript":        "CommonJS",
	"text/javascript":               "CommonJS",
	"text/plain":                    "Text",
	"application/octet-stream":      "Data",
	"application/wasm":              "CompiledWasm",
}

// versionStartMessage turns a version into what Miniflare runs: its modules (main module first),
// vars and secrets as the Worker sees them, KV and Durable Objects kept on disk per account
// and script (so versions of one Worker share them and tenants never do), the version
// metadata with the real id, and AI/Vectorize present but failing as under
// `wrangler dev --local`.
func versionStartMessage(t edgeTarget, dir string) (*startMessage, error) {
	v := t.version
	if v.MainModule == "" {
		return nil, fmt.Errorf("version %s has no main module: the sandbox runs ES module Workers only", v.ID)
	}
	o := workerOptions{
		Name:               t.script.Name,
		CompatibilityDate:  v.CompatibilityDate,
		CompatibilityFlags: v.CompatibilityFlags,
		Bindings:           map[string]any{},
		KVNamespaces:       map[string]string{},
		DurableObjects:     map[string]durableObjects{},
		Unavailable:        map[string]string{},
		Upstream:           "https://" + t.script.Name + "." + t.subdomain + ".workers.dev",
	}
	var main *mfModule
	for _, m := range v.Modules {
		typ, ok := moduleTypes[strings.TrimSpace(strings.Split(m.ContentType, ";")[0])]
		if !ok {
			continue
		}
		mod := mfModule{Type: typ, Path: "/" + m.Name, Contents: m.Data}
		if m.Name == v.MainModule {
			main = &mod
			continue
		}
		o.Modules = append(o.Modules, mod)
	}
	if main == nil {
		return nil, fmt.Errorf("version %s: the main module %s was not uploaded as code", v.ID, v.MainModule)
	}
	o.Modules = append([]mfModule{*main}, o.Modules...)
	for _, b := range v.Bindings {
		name := b.Name()
		switch b.Type() {
		case "plain_text":
			o.Bindings[name], _ = b["text"].(string)
		case "json":
			o.Bindings[name] = b["json"]
		case "kv_namespace":
			o.KVNamespaces[name], _ = b["namespace_id"].(string)
		case "durable_object_namespace":
			class, _ := b["class_name"].(string)
			if other, _ := b["script_name"].(string); other != "" && other != t.script.Name {
				o.Unavailable[name] = "the Durable Object namespace of another Worker (" + other + ")"
				continue
			}
			o.DurableObjects[name] = durableObjects{ClassName: class, UseSQLite: true}
		case "version_metadata":
			o.Bindings[name] = map[string]any{"id": v.ID, "tag": v.Annotations["workers/tag"], "timestamp": v.CreatedOn}
		case "ai":
			o.Unavailable[name] = "Workers AI"
		case "vectorize":
			o.Unavailable[name] = "Vectorize"
		default:
			o.Unavailable[name] = "a " + b.Type() + " binding"
		}
	}
	names := make([]string, 0, len(t.secrets))
	for n := range t.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o.Bindings[n] = t.secrets[n]
	}
	return &startMessage{Persist: filepath.Join(dir, "persist", t.account, t.script.Name), Options: o}, nil
}
