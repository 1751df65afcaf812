package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// File names inside a tenant folder.
const (
	ConfigFile   = "tenant.config.json"
	WranglerFile = "wrangler.jsonc"
)

// Tenant is one loaded tenant folder.
type Tenant struct {
	// Name is the folder name under tenants/ (checked by ValidName).
	Name string
	// Dir is the absolute path of the folder.
	Dir string
	// Config is tenant.config.json, typed.
	Config Config
	// ConfigDoc and WranglerDoc are the parsed files with their original bytes; use their
	// Position methods to point at a place in them.
	ConfigDoc, WranglerDoc *jsonc.Document
	// Wrangler is wrangler.jsonc decoded: the top level (dev) and the named envs.
	Wrangler map[string]any
}

// WranglerPath is the absolute path of the tenant's wrangler.jsonc (for wrangler --config).
func (t *Tenant) WranglerPath() string { return filepath.Join(t.Dir, WranglerFile) }

// ConfigPath is the absolute path of the tenant's tenant.config.json.
func (t *Tenant) ConfigPath() string { return filepath.Join(t.Dir, ConfigFile) }

// Load checks name (before touching the disk), makes sure the tenant exists, then reads and
// parses both of its files. Errors are *jsonc.FileError (with file, line and column) where a file
// is at fault, or wrap ErrInvalidName / ErrUnknown. Load does not run the JSON Schemas or the
// cross-file rules: that is package validate.
func Load(ctx context.Context, ws workspace.Workspace, name string) (*Tenant, error) {
	if err := Check(ws, name); err != nil {
		return nil, fmt.Errorf("load tenant: %w", err)
	}
	dir := ws.TenantDir(name)
	docs := make([]*jsonc.Document, 2)
	for i, f := range []string{ConfigFile, WranglerFile} {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("load tenant %s: %w", name, err)
		}
		d, err := ReadDocument(filepath.Join(dir, f), RelPath(name, f), f == WranglerFile)
		if err != nil {
			return nil, fmt.Errorf("load tenant %s: %w", name, err)
		}
		docs[i] = d
	}
	t, err := FromDocuments(name, dir, docs[0], docs[1])
	if err != nil {
		return nil, fmt.Errorf("load tenant %s: %w", name, err)
	}
	return t, nil
}

// ReadDocument reads one tenant file through jsonc.Read (comments allows JSONC) and adds to
// its refusals the hints that only a tenant file can give.
func ReadDocument(path, rel string, comments bool) (*jsonc.Document, error) {
	doc, err := jsonc.Read(path, rel, comments)
	var fe *jsonc.FileError
	if errors.As(err, &fe) && fe.Hint == "" {
		fe.Hint = fileHints[fe.Rule]
	}
	return doc, err
}

var fileHints = map[string]string{
	jsonc.RuleFileMissing:  "every tenant needs tenant.config.json and wrangler.jsonc",
	jsonc.RuleFileTooLarge: "a tenant config is a few KB; check that the right file is in place",
	jsonc.RuleFileEmpty:    "write the JSON object this file needs (see the other tenants)",
	jsonc.RuleNotJSON:      "remove them (wrangler.jsonc is the file that takes comments)",
}

// RelPath is the slash-separated path of a tenant file relative to the workspace root, the
// form used in every message.
func RelPath(name, file string) string {
	return "tenants/" + name + "/" + file
}

// FromDocuments builds a Tenant from two parsed files. It fails with a *jsonc.FileError when a
// value has the wrong JSON type for the typed Config (the schema check reports those in
// detail) or when wrangler.jsonc is not an object.
func FromDocuments(name, dir string, config, wrangler *jsonc.Document) (*Tenant, error) {
	t := &Tenant{Name: name, Dir: dir, ConfigDoc: config, WranglerDoc: wrangler}
	if err := decodeTyped(config, &t.Config); err != nil {
		return nil, err
	}
	w, ok := wrangler.Value.(map[string]any)
	if !ok {
		return nil, &jsonc.FileError{Path: wrangler.Rel, Line: 1, Col: 1, Rule: jsonc.RuleType, Message: "the file must hold one JSON object"}
	}
	t.Wrangler = w
	if env, ok := w["env"]; ok {
		envs, ok := env.(map[string]any)
		if !ok {
			line, col := wrangler.Position("/env")
			return nil, &jsonc.FileError{Path: wrangler.Rel, Line: line, Col: col, Rule: jsonc.RuleType, Message: `"env" must be an object of named environments`}
		}
		for k, v := range envs {
			if _, ok := v.(map[string]any); !ok {
				line, col := wrangler.Position(jsonc.Pointer("env", k))
				return nil, &jsonc.FileError{Path: wrangler.Rel, Line: line, Col: col, Rule: jsonc.RuleType, Message: fmt.Sprintf("env.%s must be an object", k)}
			}
		}
	}
	return t, nil
}

// decodeTyped decodes doc into v and maps a type error back to the file.
func decodeTyped(doc *jsonc.Document, v any) error {
	if _, ok := doc.Value.(map[string]any); !ok {
		return &jsonc.FileError{Path: doc.Rel, Line: 1, Col: 1, Rule: jsonc.RuleType, Message: "the file must hold one JSON object"}
	}
	err := json.Unmarshal(doc.Std, v)
	if err == nil {
		return nil
	}
	fe := &jsonc.FileError{Path: doc.Rel, Line: 1, Col: 1, Rule: jsonc.RuleType, Message: err.Error(), Err: err}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		fe.Line, fe.Col = doc.OffsetPosition(int(te.Offset))
		// The offset is just past the offending value; step back to its first byte.
		if start := valueStart(doc.Std, int(te.Offset)); start >= 0 {
			fe.Line, fe.Col = doc.OffsetPosition(start)
		}
		fe.Message = fmt.Sprintf("%s must be %s, not %s", te.Field, te.Type.String(), te.Value)
	}
	return fe
}

// valueStart walks back from the end of a JSON value to the ':' or '[' or ',' before it and
// returns the offset of the value's first byte.
func valueStart(std []byte, end int) int {
	if end > len(std) || end <= 0 {
		return -1
	}
	i := bytes.LastIndexAny(std[:end], ":[,")
	if i < 0 {
		return -1
	}
	i++
	for i < end && slices.Contains([]byte(" \t\r\n"), std[i]) {
		i++
	}
	return i
}

// EnvNames returns the named environments defined in wrangler.jsonc besides the top level, sorted.
func (t *Tenant) EnvNames() []string {
	envs, _ := t.Wrangler["env"].(map[string]any)
	names := make([]string, 0, len(envs))
	for k := range envs {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
