package sandbox

import "net/http"

func (s *Server) versionJSON(v *Version) map[string]any {
	out := map[string]any{
		"id":     v.ID,
		"number": v.Number,
		"metadata": map[string]any{
			"author_email": v.AuthorEmail,
			"author_id":    authorID,
			"created_on":   v.CreatedOn,
			"modified_on":  v.CreatedOn,
			"source":       v.Source,
			"has_preview":  false,
			"hasPreview":   false,
		},
		"annotations": v.Annotations,
		"resources": map[string]any{
			"bindings": bindingsWithSecrets(v),
			"script": map[string]any{
				"etag":               v.Etag,
				"handlers":           v.Handlers,
				"last_deployed_from": "wrangler",
			},
			"script_runtime": map[string]any{
				"compatibility_date":  v.CompatibilityDate,
				"compatibility_flags": v.CompatibilityFlags,
				"usage_model":         v.UsageModel,
				"limits":              rawOrEmpty(v.Limits),
				"migration_tag":       v.MigrationTag,
			},
		},
		"startup_time_ms": v.StartupTimeMs,
	}
	return out
}

func (s *Server) listVersions(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	page, perPage, err := pageParams(c.r, 10, 100)
	if err != nil {
		return nil, err
	}
	lo, hi := pageBounds(len(sc.Versions), page, perPage)
	items := make([]any, 0, hi-lo)
	for _, v := range sc.Versions[lo:hi] {
		items = append(items, s.versionJSON(v))
	}
	return paged{
		result: map[string]any{"items": items},
		info:   pageInfo(page, perPage, len(items), len(sc.Versions)),
	}, nil
}

func (s *Server) postVersion(c *call) (any, error) {
	meta, mods, err := parseUpload(c.r)
	if err != nil {
		return nil, err
	}
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	oldTag := sc.MigrationTag
	if err := applyMigrations(sc, meta.Migrations); err != nil {
		return nil, err
	}
	v, err := s.newVersionLocked(c.r, sc, meta, mods)
	if err != nil {
		sc.MigrationTag = oldTag
		return nil, err
	}
	return s.versionJSON(v), nil
}

func (s *Server) getVersion(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	v := sc.version(c.r.PathValue("version"))
	if v == nil {
		return nil, errf(http.StatusNotFound, codeScriptNotFound, "version %s of the Worker %s does not exist", c.r.PathValue("version"), sc.Name)
	}
	return s.versionJSON(v), nil
}
