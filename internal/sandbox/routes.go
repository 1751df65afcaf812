package sandbox

import "net/http"

// apiRoutes registers every API endpoint, one line each, relative to /client/v4. h is for
// endpoints of one account (the token must be that account's), tok for any issued token. A
// group of endpoints in a file of its own registers here with one line per endpoint too.
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
