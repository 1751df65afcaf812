package sandboxctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Paths are the files of the checkout's sandbox, all under .state/ (git-ignored).
type Paths struct {
	Dir        string // .state/sandbox
	State      string // the sandbox's world, written atomically after every change
	RequestLog string // one JSON line per API request, for debugging
	Runtime    string // pid and URL of the running process
	ServerLog  string // the process's own stderr
	Binary     string // .state/bin/cf-sandbox
	Records    string // deployment records of rehearsals against this sandbox
	Edge       string // the workerd edge's supervisor script and the Workers' KV/DO data
}

// PathsFor lays out the sandbox files of ws.
func PathsFor(ws workspace.Workspace) Paths {
	dir := filepath.Join(ws.StateDir(), "sandbox")
	return Paths{
		Dir:        dir,
		State:      filepath.Join(dir, "state.json"),
		RequestLog: filepath.Join(dir, "requests.jsonl"),
		Runtime:    filepath.Join(dir, "runtime.json"),
		ServerLog:  filepath.Join(dir, "sandbox.log"),
		Records:    filepath.Join(dir, "deployments"),
		Edge:       filepath.Join(dir, "edge"),
		Binary:     filepath.Join(ws.StateDir(), "bin", "cf-sandbox"),
	}
}

// Runtime is what a running sandbox writes about itself once it listens.
type Runtime struct {
	PID        int       `json:"pid"`
	URL        string    `json:"url"` // http://127.0.0.1:PORT, no trailing slash
	Root       string    `json:"root"`
	State      string    `json:"state"`
	RequestLog string    `json:"request_log"`
	Started    time.Time `json:"started"`
	Edge       string    `json:"edge,omitempty"` // workerd or fake
	// Attached: the sandbox is another checkout's (sandbox:attach); PID is 0 and the
	// status answer alone says it runs.
	Attached bool `json:"attached,omitempty"`
}

// APIBaseURL is what wrangler and cfapi are given.
func (r Runtime) APIBaseURL() string { return r.URL + "/client/v4" }

// ReadRuntime returns the runtime file, or ok=false when there is none.
func ReadRuntime(path string) (Runtime, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Runtime{}, false, nil
	}
	if err != nil {
		return Runtime{}, false, fmt.Errorf("sandbox: %w", err)
	}
	var rt Runtime
	if err := json.Unmarshal(data, &rt); err != nil || (rt.PID <= 0 && !rt.Attached) || rt.URL == "" {
		// A torn or foreign file: treat as no sandbox, and let the next start replace it.
		return Runtime{}, false, nil
	}
	return rt, true, nil
}

// Rel shows p relative to the checkout when it is inside it (for messages).
func Rel(ws workspace.Workspace, p string) string {
	r, err := filepath.Rel(ws.Root, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return p
	}
	return r
}

func rel(ws workspace.Workspace, p string) string { return Rel(ws, p) }
