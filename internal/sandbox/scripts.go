package sandbox

import (
	"bytes"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func (s *Server) apiRoutes() *http.ServeMux {
	m := http.NewServeMux()
	const scr = "/accounts/{account}/workers/scripts/{script}"
	h := func(p string, fn apiFunc) { s.handle(m, p, authAccount, fn) }
	tok := func(p string, fn apiFunc) { s.handle(m, p, authAnyToken, fn) }

	h("GET /accounts/{account}/workers/services/{script}", s.getService)
	h("GET /accounts/{account}/workers/scripts", s.listScripts)
	h("PUT "+scr, s.putScript)
	h("GET "+scr, s.getScriptBody)
	h("DELETE "+scr, s.deleteScript)
	h("GET "+scr+"/content/v2", s.getContent)
	h("GET "+scr+"/settings", s.getSettings)
	h("PATCH "+scr+"/settings", s.patchSettings)
	h("GET "+scr+"/script-settings", s.getScriptSettings)
	h("PATCH "+scr+"/script-settings", s.patchScriptSettings)
	h("GET "+scr+"/versions", s.listVersions)
	h("POST "+scr+"/versions", s.postVersion)
	h("GET "+scr+"/versions/{version}", s.getVersion)
	h("GET "+scr+"/deployments", s.listDeployments)
	h("POST "+scr+"/deployments", s.postDeployment)
	h("GET "+scr+"/deployments/{deployment}", s.getDeployment)
	h("DELETE "+scr+"/deployments/{deployment}", s.deleteDeployment)
	h("GET "+scr+"/secrets", s.listSecrets)
	h("PUT "+scr+"/secrets", s.putSecret)
	h("GET "+scr+"/secrets/{secret}", s.getSecret)
	h("DELETE "+scr+"/secrets/{secret}", s.deleteSecret)
	h("GET "+scr+"/schedules", s.getSchedules)
	h("PUT "+scr+"/schedules", s.putSchedules)
	h("GET "+scr+"/subdomain", s.getScriptSubdomain)
	h("POST "+scr+"/subdomain", s.postScriptSubdomain)
	h("DELETE "+scr+"/subdomain", s.deleteScriptSubdomain)
	h("GET "+scr+"/routes", s.getScriptRoutes)
	h("PUT "+scr+"/routes", s.putScriptRoutes)
	h("PUT "+scr+"/domains/records", s.putDomainRecords)
	h("POST "+scr+"/domains/changeset", s.postDomainChangeset)
	h("GET /accounts/{account}/workers/domains", s.listDomains)
	h("GET /accounts/{account}/workers/subdomain", s.getAccountSubdomain)
	h("GET /accounts/{account}", s.getAccount)

	s.resourceRoutes(h, tok)
	tok("GET /user", s.getUser)
	tok("GET /memberships", s.listMemberships)
	tok("GET /accounts", s.listAccounts)
	tok("GET /zones", s.listZones)
	tok("GET /zones/{zone}/workers/routes", s.listZoneRoutes)
	tok("POST /zones/{zone}/workers/routes", s.postZoneRoute)
	return m
}

// ---- scripts ----------------------------------------------------------------------------

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

// ---- versions ---------------------------------------------------------------------------

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

// ---- deployments ------------------------------------------------------------------------

func (s *Server) listDeployments(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	out := make([]Deployment, 0, len(sc.Deployments))
	for _, d := range sc.Deployments {
		out = append(out, d.clone())
	}
	return map[string]any{"deployments": out}, nil
}

func (s *Server) getDeployment(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	for _, d := range sc.Deployments {
		if d.ID == c.r.PathValue("deployment") {
			return d.clone(), nil
		}
	}
	return nil, errf(http.StatusNotFound, codeScriptNotFound, "deployment %s of the Worker %s does not exist", c.r.PathValue("deployment"), sc.Name)
}

func (s *Server) deleteDeployment(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	id := c.r.PathValue("deployment")
	i := slices.IndexFunc(sc.Deployments, func(d *Deployment) bool { return d.ID == id })
	switch {
	case i < 0:
		return nil, errf(http.StatusNotFound, codeScriptNotFound, "deployment %s of the Worker %s does not exist", id, sc.Name)
	case i == 0:
		return nil, errf(http.StatusBadRequest, codeBadRequest, "deployment %s is the current deployment of %s and cannot be deleted", id, sc.Name)
	}
	sc.Deployments = slices.Delete(sc.Deployments, i, i+1)
	return nil, nil
}

type deploymentRequest struct {
	Strategy    string              `json:"strategy"`
	Versions    []DeploymentVersion `json:"versions"`
	Annotations map[string]string   `json:"annotations"`
}

func (s *Server) postDeployment(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var req deploymentRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validateDeployment(sc, &req); err != nil {
		return nil, err
	}
	if c.r.URL.Query().Get("force") != "true" {
		if changed := secretsChangedSince(sc, req.Versions); len(changed) > 0 {
			return nil, errf(http.StatusBadRequest, codeSecretsChanged, "The following secrets have changed: %s", strings.Join(changed, ", "))
		}
	}
	ann := map[string]string{}
	if msg, ok := req.Annotations["workers/message"]; ok {
		ann["workers/message"] = msg
	}
	if isRollback(sc, req.Versions) {
		ann["workers/triggered_by"] = "rollback"
	}
	d := s.deployLocked(sc, sourceOf(c.r), req.Versions, ann)
	return d.clone(), nil
}

func validateDeployment(sc *scriptState, req *deploymentRequest) error {
	if req.Strategy != "" && req.Strategy != "percentage" {
		return errf(http.StatusBadRequest, codeBadRequest, "deployment strategy %q is not supported; use \"percentage\"", req.Strategy)
	}
	if n := len(req.Versions); n < 1 || n > 2 {
		return errf(http.StatusBadRequest, codeBadRequest, "a deployment has 1 or 2 versions, got %d", n)
	}
	sum := 0.0
	for i, dv := range req.Versions {
		if sc.version(dv.VersionID) == nil {
			return errf(http.StatusBadRequest, codeBadRequest, "version %s of the Worker %s does not exist", dv.VersionID, sc.Name)
		}
		if dv.Percentage < 0 || dv.Percentage > 100 {
			return errf(http.StatusBadRequest, codeBadRequest, "version %s: percentage %v is outside 0-100", dv.VersionID, dv.Percentage)
		}
		if i > 0 && req.Versions[0].VersionID == dv.VersionID {
			return errf(http.StatusBadRequest, codeBadRequest, "version %s appears twice in the deployment", dv.VersionID)
		}
		sum += dv.Percentage
	}
	if math.Abs(sum-100) > 0.001 {
		return errf(http.StatusBadRequest, codeBadRequest, "deployment percentages add up to %v, they must add up to 100", sum)
	}
	return nil
}

// secretsChangedSince names the secrets that differ between the script now and the versions
// about to serve traffic: deploying such a version would silently change its secrets.
func secretsChangedSince(sc *scriptState, dvs []DeploymentVersion) []string {
	now := sc.secretDigests()
	changed := map[string]bool{}
	for _, dv := range dvs {
		if dv.Percentage <= 0 {
			continue
		}
		then := sc.version(dv.VersionID).SecretDigests
		for name, d := range now {
			if then[name] != d {
				changed[name] = true
			}
		}
		for name := range then {
			if _, ok := now[name]; !ok {
				changed[name] = true
			}
		}
	}
	return sortedKeys(changed)
}

// isRollback: one version at 100% that is older than every version serving now.
func isRollback(sc *scriptState, dvs []DeploymentVersion) bool {
	cur := sc.live()
	if cur == nil || len(dvs) != 1 {
		return false
	}
	target := sc.version(dvs[0].VersionID)
	for _, dv := range cur.Versions {
		if v := sc.version(dv.VersionID); v == nil || v.Number <= target.Number {
			return false
		}
	}
	return true
}

// ---- helpers ----------------------------------------------------------------------------

func pageParams(r *http.Request, defPer, maxPer int) (int, int, error) {
	q := r.URL.Query()
	page, perPage := 1, defPer
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errf(http.StatusBadRequest, codeBadRequest, "page must be a whole number from 1, got %q", v)
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errf(http.StatusBadRequest, codeBadRequest, "per_page must be a whole number from 1, got %q", v)
		}
		perPage = min(n, maxPer)
	}
	return page, perPage, nil
}

func pageBounds(n, page, perPage int) (int, int) {
	lo := min((page-1)*perPage, n)
	return lo, min(lo+perPage, n)
}

func pageInfo(page, perPage, count, total int) resultInfo {
	return resultInfo{Page: page, PerPage: perPage, Count: count, TotalCount: total, TotalPages: (total + perPage - 1) / perPage}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func rawOrEmpty(b []byte) any {
	if len(b) == 0 {
		return map[string]any{}
	}
	return rawJSON(b)
}

func rawOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return rawJSON(b)
}

// rawJSON embeds stored JSON verbatim.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// rawField tells "absent" from "null" in a PATCH body.
type rawField struct {
	set bool
	raw []byte
}

func (f *rawField) UnmarshalJSON(b []byte) error {
	f.set = true
	if string(b) == "null" {
		f.raw = nil
		return nil
	}
	f.raw = append([]byte(nil), b...)
	return nil
}
