package sandbox

import (
	"bytes"
	"net/http"
	"slices"
)

// The live Cloudflare API departs from its own OpenAPI schema in a few answers (found by a
// third-party SDK's tests against the live API, January 2026). By default the sandbox answers
// as the live API does, so that our code is proven against the leaner answers it will meet;
// Options.SchemaAnswers restores the schema's full results. wrangler 4.63.0 reads none of the
// fields the live answers leave out (the deployment POST: only id; one secret's GET/DELETE:
// nothing; startup_time_ms: printed as "undefined ms" when absent).

// liveDeploymentAnswer is the result of POST …/deployments.
func (s *Server) liveDeploymentAnswer(d *Deployment) any {
	if s.opts.SchemaAnswers {
		return d.clone()
	}
	return map[string]any{"id": d.ID}
}

// liveSecretAnswer is the result of GET or DELETE …/secrets/{name}.
func (s *Server) liveSecretAnswer(full any) any {
	if s.opts.SchemaAnswers {
		return full
	}
	return nil
}

// dropStartupTime leaves startup_time_ms out of an upload's answer for every version with
// an even number: the live API sometimes omits it, and a deterministic "sometimes" lets a
// test meet both answers in two uploads.
func (s *Server) dropStartupTime(out map[string]any, v *Version) {
	if !s.opts.SchemaAnswers && v.Number%2 == 0 {
		delete(out, "startup_time_ms")
	}
}

// Exchange is one API request and its answer as the client saw them, for contract checks in
// tests (Options.Observe). Headers are left out, so a token never reaches it.
type Exchange struct {
	Method string
	// Pattern is the route that served the request, as Routes lists it; "" when none did.
	Pattern      string
	Path         string // below /client/v4
	Query        string
	RequestType  string
	Request      []byte
	Status       int
	ResponseType string
	Response     []byte
	// Fault is true when an injected fault or the rate limit answered.
	Fault bool
}

// Routes lists every API route the server serves, as "METHOD /path/{param}" below /client/v4.
func (s *Server) Routes() []string {
	return slices.Sorted(slices.Values(s.patterns))
}

// captureWriter keeps a copy of the answer for Options.Observe.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

// routeOf is the pattern that serves r (whose path is already below /client/v4).
func (s *Server) routeOf(r *http.Request) string {
	_, p := s.api.Handler(r)
	return p
}
