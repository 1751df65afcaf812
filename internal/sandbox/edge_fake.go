package sandbox

import "net/http"

// fakeAnswer is the fake edge: the health document the Worker's /health would answer, made
// from the version's TENANT_ID and ENVIRONMENT vars, for any path. Both edges answer the
// edge's own errors and versions marked unhealthy with it.
func fakeAnswer(t edgeTarget) (int, healthJSON) {
	if t.status != 0 {
		return t.status, healthJSON{Status: "error", Error: t.errMsg}
	}
	h := healthJSON{Status: "ok", VersionID: t.version.ID}
	for _, b := range t.version.Bindings {
		if b.Type() != "plain_text" {
			continue
		}
		text, _ := b["text"].(string)
		switch b.Name() {
		case "TENANT_ID":
			h.Tenant = text
		case "ENVIRONMENT":
			h.Env = text
		}
	}
	if t.unhealthy {
		h.Status, h.Error = "error", "version marked unhealthy in the sandbox"
		return http.StatusServiceUnavailable, h
	}
	return http.StatusOK, h
}
