package sandbox

import "net/http"

// versionJSON is one version as GET …/versions/{id} and the upload answer describe it.
func (s *Server) versionJSON(sc *scriptState, v *Version) map[string]any {
	out := map[string]any{
		"id":          v.ID,
		"number":      v.Number,
		"metadata":    versionMetadata(sc, v),
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

// maxDeployable: only the last 100 uploaded versions can be deployed.
const maxDeployable = 100

// versionListItem is a version as the deployable list describes it (wrangler's own API mocks):
// id, number, metadata and annotations, without bindings or runtime settings, which need
// GET …/versions/{id}.
func versionListItem(sc *scriptState, v *Version) map[string]any {
	return map[string]any{
		"id":          v.ID,
		"number":      v.Number,
		"metadata":    versionMetadata(sc, v),
		"annotations": v.Annotations,
	}
}

func versionMetadata(sc *scriptState, v *Version) map[string]any {
	return map[string]any{
		"author_email": v.AuthorEmail,
		"author_id":    authorID,
		"created_on":   v.CreatedOn,
		"modified_on":  v.CreatedOn,
		"source":       v.Source,
		"has_preview":  hasPreview(sc, v),
		"hasPreview":   hasPreview(sc, v),
	}
}

// hasPreview: the version has a preview URL, which needs previews on and no Durable Object
// class of the Worker's own.
func hasPreview(sc *scriptState, v *Version) bool {
	return sc.Subdomain.PreviewsEnabled && !implementsDurableObjects(sc, v)
}

func (s *Server) listVersions(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	if c.r.URL.Query().Get("deployable") == "true" {
		// Cloudflare ignores pagination here (page=0 included) and answers the versions that
		// can be deployed, the last 100 uploaded; wrangler versions deploy relies on it.
		n := min(len(sc.Versions), maxDeployable)
		items := make([]any, 0, n)
		for _, v := range sc.Versions[:n] {
			items = append(items, versionListItem(sc, v))
		}
		return paged{result: map[string]any{"items": items}, info: pageInfo(1, max(n, 1), n, n)}, nil
	}
	page, perPage, err := pageParams(c.r, 10, 100)
	if err != nil {
		return nil, err
	}
	lo, hi := pageBounds(len(sc.Versions), page, perPage)
	items := make([]any, 0, hi-lo)
	for _, v := range sc.Versions[lo:hi] {
		// Whole versions: wrangler's `versions secret list --latest-version` reads
		// resources.bindings from this list's items.
		items = append(items, s.versionJSON(sc, v))
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
	// wrangler deploy takes the PUT path whenever migrations must be sent, so migrations on
	// POST …/versions come from `versions upload`, which Cloudflare refuses.
	if meta.Migrations != nil {
		return nil, errf(http.StatusBadRequest, codeVersionMigration,
			"A version upload of the Worker %s cannot apply Durable Object migrations; deploy it with `wrangler deploy` instead", sc.Name)
	}
	v, err := s.newVersionLocked(c.r, sc, meta, mods)
	if err != nil {
		return nil, err
	}
	out := s.versionJSON(sc, v)
	s.dropStartupTime(out, v)
	return out, nil
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
	return s.versionJSON(sc, v), nil
}
