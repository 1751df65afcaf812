package sandbox

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
)

func (s *Server) getService(c *call) (any, error) {
	sc := c.acct.Scripts[c.script()]
	if sc == nil {
		return nil, errf(http.StatusNotFound, codeServiceNotFound, "This Worker (%s) does not exist on your account.", c.script())
	}
	script := s.scriptJSON(c.acct, sc)
	return map[string]any{
		"id":          sc.Name,
		"created_on":  sc.CreatedOn,
		"modified_on": sc.ModifiedOn,
		"default_environment": map[string]any{
			"environment": "production",
			"created_on":  sc.CreatedOn,
			"modified_on": sc.ModifiedOn,
			"script":      script,
		},
		"environments": []any{map[string]any{"environment": "production", "created_on": sc.CreatedOn, "modified_on": sc.ModifiedOn}},
	}, nil
}

// scriptJSON is a script as the scripts list and the services call describe it.
func (s *Server) scriptJSON(acct *accountState, sc *scriptState) map[string]any {
	out := map[string]any{
		"id":                 sc.Name,
		"tag":                sc.Tag,
		"tags":               nullableTags(sc.Tags),
		"migration_tag":      sc.MigrationTag,
		"created_on":         sc.CreatedOn,
		"modified_on":        sc.ModifiedOn,
		"last_deployed_from": "wrangler",
		"has_modules":        true,
		"logpush":            sc.ScriptSettings.Logpush,
		"usage_model":        "standard",
		"routes":             routesOrEmpty(sc.Routes),
	}
	if v := sc.liveVersion(); v != nil {
		out["etag"] = v.Etag
		out["handlers"] = v.Handlers
		out["compatibility_date"] = v.CompatibilityDate
		out["compatibility_flags"] = v.CompatibilityFlags
		out["usage_model"] = v.UsageModel
	}
	return out
}

func nullableTags(t []string) any {
	if t == nil {
		return nil
	}
	return t
}

func routesOrEmpty(r []Route) []Route {
	if r == nil {
		return []Route{}
	}
	return r
}

func (s *Server) listScripts(c *call) (any, error) {
	names := sortedKeys(c.acct.Scripts)
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, s.scriptJSON(c.acct, c.acct.Scripts[n]))
	}
	return out, nil
}

// putScript is the legacy upload wrangler uses for a first deploy, for new Durable Object
// migrations and for draft workers: a new version deployed at once to 100%.
func (s *Server) putScript(c *call) (any, error) {
	meta, mods, err := parseUpload(c.r)
	if err != nil {
		return nil, err
	}
	_, existed := c.acct.Scripts[c.script()]
	sc := s.ensureScriptLocked(c.acct, c.script())
	oldTag := sc.MigrationTag
	v, err := func() (*Version, error) {
		if err := applyMigrations(sc, meta.Migrations); err != nil {
			return nil, err
		}
		return s.newVersionLocked(c.r, sc, meta, mods)
	}()
	if err != nil { // a refused upload leaves no trace
		sc.MigrationTag = oldTag
		if !existed {
			delete(c.acct.Scripts, c.script())
		}
		return nil, err
	}
	ann := map[string]string{"workers/triggered_by": "upload"}
	if msg, ok := meta.Annotations["workers/message"]; ok {
		ann["workers/message"] = msg
	}
	s.deployLocked(sc, sourceOf(c.r), []DeploymentVersion{{VersionID: v.ID, Percentage: 100}}, ann)
	if meta.Logpush != nil {
		sc.ScriptSettings.Logpush = *meta.Logpush
	}
	if meta.Observability != nil {
		sc.ScriptSettings.Observability = meta.Observability
	}
	if meta.TailConsumers != nil {
		sc.ScriptSettings.TailConsumers = meta.TailConsumers
	}
	out := s.scriptJSON(c.acct, sc)
	out["deployment_id"] = v.ID
	out["startup_time_ms"] = v.StartupTimeMs
	s.dropStartupTime(out, v)
	return out, nil
}

func (s *Server) getScriptBody(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	v := sc.liveVersion()
	for _, m := range v.Modules {
		if m.Name == v.MainModule {
			return rawBody{contentType: "application/javascript", body: m.Data}, nil
		}
	}
	return nil, errf(http.StatusNotFound, codeScriptNotFound, "the Worker %s has no main module", sc.Name)
}

func (s *Server) deleteScript(c *call) (any, error) {
	if _, err := c.existing(); err != nil {
		return nil, err
	}
	delete(c.acct.Scripts, c.script())
	return nil, nil
}

// getContent answers content/v2: the modules of the live version (or ?version=) as
// multipart/form-data, entry module named in the cf-entrypoint header.
func (s *Server) getContent(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	v := sc.liveVersion()
	if id := c.r.URL.Query().Get("version"); id != "" {
		if v = sc.version(id); v == nil {
			return nil, errf(http.StatusNotFound, codeScriptNotFound, "version %s of the Worker %s does not exist", id, sc.Name)
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, m := range v.Modules {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", multipart.FileContentDisposition(m.Name, m.Name))
		if m.ContentType != "" {
			hdr.Set("Content-Type", m.ContentType)
		}
		pw, err := mw.CreatePart(hdr)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(m.Data); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return rawBody{
		contentType: mw.FormDataContentType(),
		header:      map[string]string{"cf-entrypoint": v.MainModule},
		body:        buf.Bytes(),
	}, nil
}

// getSettings is /settings: the versioned settings of the live version (bindings including
// the names of secrets, compatibility) plus the script-level ones.
func (s *Server) getSettings(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	v := sc.liveVersion()
	return map[string]any{
		"bindings":            bindingsWithSecrets(v),
		"compatibility_date":  v.CompatibilityDate,
		"compatibility_flags": v.CompatibilityFlags,
		"annotations":         v.Annotations,
		"usage_model":         v.UsageModel,
		"limits":              rawOrEmpty(v.Limits),
		"placement":           rawOrEmpty(v.Placement),
		"logpush":             sc.ScriptSettings.Logpush,
		"observability":       rawOrNil(sc.ScriptSettings.Observability),
		"tail_consumers":      rawOrNil(sc.ScriptSettings.TailConsumers),
		"tags":                nullableTags(sc.Tags),
		"migration_tag":       sc.MigrationTag,
	}, nil
}

// bindingsWithSecrets lists a version's bindings followed by its secrets (name and type only,
// sorted), the way Cloudflare shows them.
func bindingsWithSecrets(v *Version) []Binding {
	out := make([]Binding, 0, len(v.Bindings)+len(v.SecretDigests))
	out = append(out, v.Bindings...)
	for _, name := range sortedKeys(v.SecretDigests) {
		out = append(out, Binding{"name": name, "type": "secret_text"})
	}
	return out
}

func (s *Server) getScriptSettings(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	return scriptSettingsJSON(sc), nil
}

func scriptSettingsJSON(sc *scriptState) map[string]any {
	return map[string]any{
		"logpush":        sc.ScriptSettings.Logpush,
		"observability":  rawOrNil(sc.ScriptSettings.Observability),
		"tail_consumers": rawOrNil(sc.ScriptSettings.TailConsumers),
		"tags":           nullableTags(sc.Tags),
	}
}

func (s *Server) patchScriptSettings(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body scriptLevelPatch
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	body.apply(sc)
	return scriptSettingsJSON(sc), nil
}
