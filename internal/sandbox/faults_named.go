package sandbox

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
)

// The failures real users met mid-deploy in 2025-2026 (workers-sdk issues; shared facts in
// many-machines-and-the-real-api.md §3), injectable by name: POST /__sandbox/faults
// {"name": "incomplete-body"} or AddFault(NamedFault("incomplete-body")). A named fault's
// count (1 unless given) and other fields may be overridden in the same body.
var namedFaults = map[string]Fault{
	// 10013 "IncompleteBody" on version creation: transient, server side.
	"incomplete-body": {Path: "POST /accounts/*/workers/scripts/*/versions", Status: http.StatusBadRequest, Code: 10013,
		Message: "IncompleteBody: the request body ended early; please retry", Count: 1},
	// EPIPE / ECONNRESET on the version POST; three of them defeat wrangler's own three tries.
	"connection-reset": {Path: "POST /accounts/*/workers/scripts/*/versions", Reset: true, Count: 3},
	// The deployment was made but its answer never arrived (a write whose answer was lost).
	"deployment-answer-lost": {Path: "POST /accounts/*/workers/scripts/*/deployments", Reset: true, AfterWrite: true, Count: 1},
	// 100146 reading a version created a moment before (read-after-write).
	"version-not-yet-readable": {Path: "GET /accounts/*/workers/scripts/*/versions/*", Status: http.StatusNotFound, Code: 100146,
		Message: "This version is not available yet; retry in a moment", Count: 1},
	// 10023, intermittent, on an upload with KV bindings by a token that has the permission.
	"kv-write-perms": {Path: "POST /accounts/*/workers/scripts/*/versions", Status: http.StatusBadRequest, Code: 10023,
		Message: "kv bindings require kv write perms", Count: 1},
	// Throttling: 971 (per-user limit) and 6100, answered 429 to any call.
	"rate-limited": {Path: "**", Status: http.StatusTooManyRequests, Code: codeRateLimited, RetryAfter: "1", Count: 1},
	"throttled-6100": {Path: "**", Status: http.StatusTooManyRequests, Code: 6100, RetryAfter: "1",
		Message: "Too many requests; throttling", Count: 1},
	// 10211: a version upload that carries a Durable Object migration.
	"migration-on-version": {Path: "POST /accounts/*/workers/scripts/*/versions", Status: http.StatusBadRequest, Code: codeVersionMigration,
		Message: "Version uploads cannot apply Durable Object migrations; deploy with `wrangler deploy`", Count: 1},
	// 10220: a deployment refused because a secret changed since the version was made.
	"secrets-changed": {Path: "POST /accounts/*/workers/scripts/*/deployments", Status: http.StatusBadRequest, Code: codeSecretsChanged,
		Message: "The following secrets have changed: AI_GATEWAY_TOKEN", Count: 1},
}

// FaultNames lists the named faults.
func FaultNames() []string {
	out := make([]string, 0, len(namedFaults))
	for n := range namedFaults {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// NamedFault is the fault of that name, or an error listing the names.
func NamedFault(name string) (Fault, error) {
	f, ok := namedFaults[strings.TrimSpace(name)]
	if !ok {
		return Fault{}, fmt.Errorf("no fault named %q; the named faults are %s", name, strings.Join(FaultNames(), ", "))
	}
	f.Name = name
	return f, nil
}

// withName fills a fault given by name from the catalogue; fields set in f win.
func withName(f Fault) (Fault, error) {
	if f.Name == "" {
		return f, nil
	}
	n, err := NamedFault(f.Name)
	if err != nil {
		return Fault{}, err
	}
	if f.Path != "" {
		n.Path, n.Method = f.Path, f.Method
	}
	if f.Count != 0 {
		n.Count = f.Count
	}
	if f.Status != 0 {
		n.Status = f.Status
	}
	if f.Latency != 0 {
		n.Latency = f.Latency
	}
	return n, nil
}

// resetConnection ends the client's connection with a TCP reset instead of an answer, as a
// peer that died mid-request does; the client sees ECONNRESET and no status.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return // HTTP/2 or a test recorder: nothing to reset, the handler just returns
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

// discardAnswer is where the answer of a request whose answer is lost goes.
type discardAnswer struct{ header http.Header }

func (d discardAnswer) Header() http.Header         { return d.header }
func (d discardAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (d discardAnswer) WriteHeader(int)             {}
