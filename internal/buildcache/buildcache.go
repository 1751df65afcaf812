package buildcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// stampFile sits in the bundle folder beside wrangler's output.
const stampFile = ".inputs.json"

type stamp struct {
	Inputs     string          `json:"inputs_sha256"`
	WorkerName string          `json:"worker_name"`
	MainModule string          `json:"main_module"` // relative to the bundle folder
	SHA256     string          `json:"bundle_sha256"`
	Metadata   json.RawMessage `json:"metadata"`
}

// skipDirs are never build inputs.
var skipDirs = []string{"node_modules", ".wrangler", ".test-build", "test", ".git"}

// skipFiles, at the top of a tenant's folder, are files wrangler never reads: the tenant's own
// config is ours alone. Keeping it out means editing it (a health check, a display name)
// neither rebuilds nor, since deploy also decides "unchanged" from this hash without a build,
// uploads a new version of the same code.
var skipFiles = []string{"tenant.config.json"}

// InputsHash hashes, with their paths, every file that can change the bundle of the tenant whose
// folder is tenantDir when built for wranglerEnv ("" is the top level).
func InputsHash(ws workspace.Workspace, tenantDir, wranglerEnv string) (string, error) {
	h := sha256.New()
	for _, root := range []string{ws.WorkerDir(), tenantDir} {
		err := eachInput(root, func(p string) error {
			if root == tenantDir && filepath.Dir(p) == root && slices.Contains(skipFiles, filepath.Base(p)) {
				return nil
			}
			return hashFile(h, p, p)
		})
		if err != nil {
			return "", fmt.Errorf("hash build inputs: %w", err)
		}
	}
	lock := filepath.Join(ws.Root, "package-lock.json")
	if err := hashFile(h, lock, lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("hash build inputs: %w", err)
	}
	_, _ = io.WriteString(h, "wrangler "+wrangler.PinnedVersion+" env "+wranglerEnv)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// eachInput calls fn with every regular file under root, leaving out the skipDirs folders.
func eachInput(root string, fn func(p string) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && slices.Contains(skipDirs, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return fn(p)
	})
}

// hashFile hashes the file at p under name: a separator, the name, the contents.
func hashFile(h io.Writer, p, name string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _ = io.WriteString(h, "\x00"+name+"\x00")
	_, err = io.Copy(h, f)
	return err
}

// Lookup returns the bundle in dir when it was built from inputs and its main module is intact.
func Lookup(dir, inputs string) (wrangler.Bundle, bool) {
	b, err := os.ReadFile(filepath.Join(dir, stampFile))
	if err != nil {
		return wrangler.Bundle{}, false
	}
	var s stamp
	if json.Unmarshal(b, &s) != nil || s.Inputs != inputs || s.MainModule == "" {
		return wrangler.Bundle{}, false
	}
	main := filepath.Join(dir, s.MainModule)
	f, err := os.Open(main)
	if err != nil {
		return wrangler.Bundle{}, false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil || hex.EncodeToString(h.Sum(nil)) != s.SHA256 {
		return wrangler.Bundle{}, false
	}
	// MarshalIndent re-indented the stored metadata; hand it back compact, as wrangler.Build does.
	var meta bytes.Buffer
	if json.Compact(&meta, s.Metadata) != nil {
		return wrangler.Bundle{}, false
	}
	return wrangler.Bundle{Dir: dir, WorkerName: s.WorkerName, MainModule: main, SHA256: s.SHA256, Metadata: meta.Bytes()}, true
}

// Stamp records that b was built from inputs. A failure to write only costs a rebuild next time.
func Stamp(b wrangler.Bundle, inputs string) {
	rel, err := filepath.Rel(b.Dir, b.MainModule)
	if err != nil {
		return
	}
	data, err := json.MarshalIndent(stamp{Inputs: inputs, WorkerName: b.WorkerName, MainModule: rel, SHA256: b.SHA256, Metadata: b.Metadata}, "", "  ")
	if err != nil {
		return
	}
	tmp := filepath.Join(b.Dir, stampFile+".tmp")
	if os.WriteFile(tmp, data, 0o644) == nil {
		_ = os.Rename(tmp, filepath.Join(b.Dir, stampFile))
	}
}

// Invalidate removes dir's stamp before a build into dir: a build that fails half-way must not
// leave the old stamp beside a half-written bundle.
func Invalidate(dir string) {
	_ = os.Remove(filepath.Join(dir, stampFile))
}
