package sandboxctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Attach makes ws rehearse against a sandbox another checkout started (sandbox:attach): u is
// its address as sandbox:status shows it (http://127.0.0.1:PORT, with or without /client/v4).
// It must be on the loopback and answer as a sandbox. From then on every target of ws uses it
// as its own: its tokens, its workers.dev edge, and ws's rehearsal records folder, never
// deployments/. sandbox:stop in ws detaches without stopping it.
func Attach(ctx context.Context, ws workspace.Workspace, u string) (Runtime, error) {
	base, err := sandboxRoot(u)
	if err != nil {
		return Runtime{}, err
	}
	if rt, _, ok, err := running(ctx, ws); err == nil && ok && !rt.Attached {
		return Runtime{}, fmt.Errorf("sandbox:attach: this checkout runs its own sandbox at %s; stop it first (`go tool mage sandbox:stop`)", rt.URL)
	}
	rt := Runtime{URL: base, Root: ws.Root, Attached: true, Started: time.Now().UTC()}
	if _, err := control(ctx, rt, http.MethodGet, "/__sandbox/status", nil); err != nil {
		return Runtime{}, fmt.Errorf("sandbox:attach %s: it does not answer as a sandbox (%w); start one with `go tool mage sandbox:start` in the other checkout and pass the URL sandbox:status shows", u, err)
	}
	paths := PathsFor(ws)
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		return Runtime{}, fmt.Errorf("sandbox:attach: %w", err)
	}
	b, _ := json.MarshalIndent(rt, "", "  ")
	if err := atomicfile.Write(paths.Runtime, b, atomicfile.Options{Perm: 0o644}); err != nil {
		return Runtime{}, fmt.Errorf("sandbox:attach: %w", err)
	}
	return rt, nil
}

// sandboxRoot checks that u is an http URL on the loopback and returns its root.
func sandboxRoot(u string) (string, error) {
	p, err := url.Parse(strings.TrimRight(strings.TrimSpace(u), "/"))
	if err != nil || p.Scheme != "http" || p.Host == "" {
		return "", fmt.Errorf("sandbox:attach %q: want the sandbox's http://127.0.0.1:PORT address (sandbox:status shows it)", u)
	}
	host := p.Hostname()
	if ip := net.ParseIP(host); !(host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return "", fmt.Errorf("sandbox:attach %q: a sandbox listens on the loopback only (127.0.0.1); this is %s", u, host)
	}
	return p.Scheme + "://" + p.Host, nil
}
