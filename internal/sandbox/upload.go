package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// maxUpload bounds one script upload; Cloudflare's own limit for paid plans is 10 MB gzip.
const maxUpload = 64 << 20

// uploadMetadata is the part of the upload's "metadata" JSON the sandbox keeps.
type uploadMetadata struct {
	MainModule         string            `json:"main_module"`
	BodyPart           string            `json:"body_part"`
	Bindings           []Binding         `json:"bindings"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Migrations         *migrations       `json:"migrations"`
	KeepBindings       []string          `json:"keep_bindings"`
	Logpush            *bool             `json:"logpush"`
	Observability      json.RawMessage   `json:"observability"`
	TailConsumers      json.RawMessage   `json:"tail_consumers"`
	Annotations        map[string]string `json:"annotations"`
	UsageModel         string            `json:"usage_model"`
	Limits             json.RawMessage   `json:"limits"`
	Placement          json.RawMessage   `json:"placement"`
	// BindingsInherit "strict" refuses an inherit binding that cannot be resolved; otherwise
	// such a binding is dropped, as Cloudflare does.
	BindingsInherit string `json:"bindings_inherit"`
}

type migrations struct {
	OldTag string            `json:"old_tag"`
	NewTag string            `json:"new_tag"`
	Steps  []json.RawMessage `json:"steps"`
}

// parseUpload reads a script or version upload: multipart/form-data with a "metadata" JSON
// part and one part per module, each kept byte for byte.
func parseUpload(r *http.Request) (*uploadMetadata, []Module, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload must be multipart/form-data with a metadata part: %v", err)
	}
	var meta *uploadMetadata
	var mods []Module
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload: broken multipart body: %v", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload: reading part %q: %v", part.FormName(), err)
		}
		if part.FormName() == "metadata" {
			meta = &uploadMetadata{}
			if err := json.Unmarshal(data, meta); err != nil {
				return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload: metadata part is not valid JSON: %v", err)
			}
			continue
		}
		name := partFileName(part)
		mods = append(mods, Module{Name: name, ContentType: part.Header.Get("Content-Type"), Data: data})
	}
	if meta == nil {
		return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload: no metadata part")
	}
	main := meta.MainModule
	if main == "" {
		main = meta.BodyPart
	}
	if main == "" {
		return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload: metadata names neither main_module nor body_part")
	}
	if !slices.ContainsFunc(mods, func(m Module) bool { return m.Name == main }) {
		return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "upload: main module %q is not among the uploaded parts", main)
	}
	meta.MainModule = main
	return meta, mods, nil
}

// partFileName is the part's filename as sent. multipart.Part.FileName would cut it to its
// last path element, but module names such as "lib/util.js" must survive whole.
func partFileName(p *multipart.Part) string {
	if _, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		return params["filename"]
	}
	return p.FormName()
}

func (s *Server) ensureScriptLocked(acct *accountState, name string) *scriptState {
	if sc := acct.Scripts[name]; sc != nil {
		return sc
	}
	now := s.stampLocked()
	sc := &scriptState{
		Name:      name,
		Tag:       randHex(16),
		CreatedOn: now, ModifiedOn: now,
		Secrets: map[string]secretState{},
	}
	acct.Scripts[name] = sc
	return sc
}

// applyMigrations checks the upload's old_tag against the script and moves the script to
// new_tag, as Cloudflare does for Durable Object migrations.
func applyMigrations(sc *scriptState, m *migrations) error {
	if m == nil {
		return nil
	}
	if m.OldTag != sc.MigrationTag {
		return errf(http.StatusBadRequest, codeMigrationTag,
			"migration precondition failed: the Worker %s is at migration tag %q but the upload's old_tag is %q", sc.Name, sc.MigrationTag, m.OldTag)
	}
	if m.NewTag != "" {
		sc.MigrationTag = m.NewTag
	}
	return nil
}

// newVersionLocked turns an upload into a version of sc (not yet deployed). Secret bindings
// in the upload set the script's secrets; inherit and keep_bindings copy from the version
// that was live before.
func (s *Server) newVersionLocked(r *http.Request, sc *scriptState, meta *uploadMetadata, mods []Module) (*Version, error) {
	prev := sc.liveVersion()
	var bindings, secrets []Binding
	for _, b := range meta.Bindings {
		switch b.Type() {
		case "secret_text", "secret_key":
			secrets = append(secrets, b) // set below, once the upload is known to be valid
		case "inherit":
			var from Binding
			if prev != nil {
				if i := slices.IndexFunc(prev.Bindings, func(p Binding) bool { return p.Name() == b.Name() }); i >= 0 {
					from = maps.Clone(prev.Bindings[i])
				}
			}
			// One that cannot be resolved is dropped, as Cloudflare does, unless strict; an
			// inherited secret carries over by itself (secrets live on the script).
			isSecret := prev != nil && prev.SecretDigests[b.Name()] != ""
			switch {
			case from != nil:
				bindings = append(bindings, from)
			case meta.BindingsInherit == "strict" && !isSecret:
				return nil, errf(http.StatusBadRequest, codeBadRequest, "binding %s inherits from the previous version, but no earlier version has it (bindings_inherit is strict)", b.Name())
			}
		default:
			bindings = append(bindings, maps.Clone(b))
		}
	}
	if prev != nil {
		for _, b := range prev.Bindings {
			if slices.Contains(meta.KeepBindings, b.Type()) && !slices.ContainsFunc(bindings, func(n Binding) bool { return n.Name() == b.Name() }) {
				bindings = append(bindings, maps.Clone(b))
			}
		}
	}
	for _, b := range secrets {
		text, _ := b["text"].(string)
		s.setSecretLocked(sc, b.Name(), b.Type(), text)
	}
	flags := meta.CompatibilityFlags
	if flags == nil {
		flags = []string{}
	}
	usage := meta.UsageModel
	if usage == "" {
		usage = "standard"
	}
	annotations := map[string]string{}
	for k, v := range meta.Annotations {
		if k != "workers/triggered_by" {
			annotations[k] = v
		}
	}
	annotations["workers/triggered_by"] = "upload"
	sc.NextNumber++
	now := s.stampLocked()
	v := &Version{
		ID:                 uuid.NewString(),
		Number:             sc.NextNumber,
		CreatedOn:          now,
		Source:             sourceOf(r),
		AuthorEmail:        authorEmail,
		Annotations:        annotations,
		Bindings:           bindings,
		CompatibilityDate:  meta.CompatibilityDate,
		CompatibilityFlags: flags,
		UsageModel:         usage,
		Limits:             meta.Limits,
		Placement:          meta.Placement,
		MainModule:         meta.MainModule,
		Modules:            mods,
		Etag:               etagOf(mods),
		Handlers:           handlersOf(mods, meta.MainModule),
		MigrationTag:       sc.MigrationTag,
		StartupTimeMs:      startupTimeMs,
		SecretDigests:      sc.secretDigests(),
	}
	sc.Versions = append([]*Version{v}, sc.Versions...)
	sc.ModifiedOn = now
	return v, nil
}

// derivedVersionLocked copies from into a new version (secret changes, out-of-band edits):
// same code, bindings as given, the script's current secrets.
func (s *Server) derivedVersionLocked(sc *scriptState, from *Version, source, trigger string) *Version {
	c := from.clone()
	sc.NextNumber++
	c.ID = uuid.NewString()
	c.Number = sc.NextNumber
	c.CreatedOn = s.stampLocked()
	c.Source = source
	c.Annotations = map[string]string{}
	if trigger != "" {
		c.Annotations["workers/triggered_by"] = trigger
	}
	c.SecretDigests = sc.secretDigests()
	c.MigrationTag = sc.MigrationTag
	sc.Versions = append([]*Version{&c}, sc.Versions...)
	sc.ModifiedOn = c.CreatedOn
	return &c
}

// deployLocked makes a new current deployment of sc.
func (s *Server) deployLocked(sc *scriptState, source string, versions []DeploymentVersion, annotations map[string]string) *Deployment {
	d := &Deployment{
		ID:          uuid.NewString(),
		Source:      source,
		Strategy:    "percentage",
		AuthorEmail: authorEmail,
		CreatedOn:   s.stampLocked(),
		Versions:    versions,
		Annotations: annotations,
	}
	sc.Deployments = append([]*Deployment{d}, sc.Deployments...)
	sc.ModifiedOn = d.CreatedOn
	return d
}

func (s *Server) setSecretLocked(sc *scriptState, name, typ, text string) {
	if typ == "" {
		typ = "secret_text"
	}
	sum := sha256.Sum256([]byte(typ + "\x00" + text))
	d := hex.EncodeToString(sum[:])
	sc.Secrets[name] = secretState{Type: typ, Digest: d, ModifiedOn: s.stampLocked()}
	if sc.SecretValues == nil {
		sc.SecretValues = map[string]string{}
	}
	sc.SecretValues[d] = text
}

const (
	authorEmail   = "sandbox@localhost"
	authorID      = "5a4db0c5a4db0c5a4db0c5a4db0c5a4d"
	startupTimeMs = 7
)

func sourceOf(r *http.Request) string {
	if strings.HasPrefix(r.Header.Get("User-Agent"), "wrangler") {
		return "wrangler"
	}
	return "api"
}

func etagOf(mods []Module) string {
	h := sha256.New()
	for _, m := range mods {
		h.Write([]byte(m.Name))
		h.Write([]byte{0})
		h.Write(m.Data)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// handlersOf guesses the exported handlers from the main module's text; Cloudflare learns them
// by running the script, which the sandbox does not do.
func handlersOf(mods []Module, main string) []string {
	hs := []string{"fetch"}
	for _, m := range mods {
		if m.Name == main && bytes.Contains(m.Data, []byte("scheduled")) {
			hs = append(hs, "scheduled")
		}
	}
	return hs
}
