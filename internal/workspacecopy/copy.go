package workspacecopy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Options choose what a copy holds beyond the tenants, the Worker and the schemas.
type Options struct {
	// Code adds the Go sources (magefile.go, magefiles/, internal/, docs/) and the plugin and
	// npm scripts (plugins/, scripts/), so that `go tool mage` runs in the copy as it does here.
	Code bool
	// Git makes the copy a git repository with one commit and an empty deployments/, so
	// records carry a git sha and deploy tags can be made. Without it there is no
	// deployments/ until something writes a record.
	Git bool
	// NoTenants leaves tenants/ empty, for callers that write their own.
	NoTenants bool
}

var (
	// dataParts are what every copy holds. The package and module files make the copy a
	// workspace workspace.Find recognises.
	dataParts = []string{"apps/worker-api", "schemas", "package.json", "package-lock.json", "go.mod", "go.sum"}
	codeParts = []string{"magefile.go", "magefiles", "internal", "docs", "plugins", "scripts"}
	// optionalParts may be missing from the repository copied.
	optionalParts = map[string]bool{"plugins": true, "scripts": true}
)

// gitIgnore keeps the linked install and the copy's own output out of its commit.
const gitIgnore = "node_modules\n.state/\n.build/\n.wrangler/\napps/worker-api/.test-build/\n"

// To copies repo's tenants, Worker, schemas and package and module files into dir, with
// node_modules linked to the repository's (wrangler is never installed twice). dir should be
// empty.
func To(repo workspace.Workspace, dir string, o Options) (workspace.Workspace, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return workspace.Workspace{}, fmt.Errorf("workspacecopy: %w", err)
	}
	parts := dataParts
	if !o.NoTenants {
		parts = append([]string{"tenants"}, parts...)
	}
	if o.Code {
		parts = append(append([]string{}, parts...), codeParts...)
	}
	for _, p := range parts {
		if optionalParts[p] {
			if _, err := os.Stat(filepath.Join(repo.Root, p)); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if err := Tree(filepath.Join(repo.Root, p), filepath.Join(root, p)); err != nil {
			return workspace.Workspace{}, fmt.Errorf("workspacecopy: copy %s: %w", p, err)
		}
	}
	// The copied lock file must not look newer than the shared install: npmdeps would run
	// `npm ci` through the node_modules link and pull the packages out from under every
	// other running test.
	lock := filepath.Join(repo.Root, "package-lock.json")
	st, err := os.Stat(lock)
	if err != nil {
		return workspace.Workspace{}, fmt.Errorf("workspacecopy: %w", err)
	}
	if err := os.Chtimes(filepath.Join(root, "package-lock.json"), st.ModTime(), st.ModTime()); err != nil {
		return workspace.Workspace{}, fmt.Errorf("workspacecopy: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "tenants"), 0o755); err != nil {
		return workspace.Workspace{}, fmt.Errorf("workspacecopy: %w", err)
	}
	if err := os.Symlink(repo.NodeModules(), filepath.Join(root, "node_modules")); err != nil {
		return workspace.Workspace{}, fmt.Errorf("workspacecopy: link node_modules: %w", err)
	}
	if o.Git {
		// A checkout has deployments/; tests without Git check that nothing creates it.
		if err := os.MkdirAll(filepath.Join(root, "deployments"), 0o755); err != nil {
			return workspace.Workspace{}, fmt.Errorf("workspacecopy: %w", err)
		}
		if err := commit(root); err != nil {
			return workspace.Workspace{}, err
		}
	}
	return workspace.Workspace{Root: root}, nil
}

// commit makes root a git repository holding everything in it as one commit, with a fixed
// author so no git configuration of the machine is needed.
func commit(root string) error {
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte(gitIgnore), 0o644); err != nil {
		return fmt.Errorf("workspacecopy: %w", err)
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"config", "user.name", "Test Operator"},
		{"config", "user.email", "oncall@example.com"},
		{"add", "-A"},
		{"commit", "-q", "-m", "copy of the checkout for a test"},
	} {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Test Operator", "GIT_AUTHOR_EMAIL=oncall@example.com",
			"GIT_COMMITTER_NAME=Test Operator", "GIT_COMMITTER_EMAIL=oncall@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("workspacecopy: git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// skipped are folders a copy leaves out below its root: installs, wrangler's and the
// Worker tests' output, bundles, and other packages' test fixtures.
var skipped = map[string]bool{"node_modules": true, ".wrangler": true, ".test-build": true, "dist": true, "testdata": true}

// Tree copies the regular files and folders under src (a file or a folder) to dst,
// leaving out installs, build output, test fixtures below src, links and Mage's generated
// main file.
func Tree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if p != src && skipped[d.Name()] {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), "mage_output_file.go") {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		// Executables stay executable: plugin scripts are found by their mode.
		return os.WriteFile(target, b, 0o644|info.Mode().Perm()&0o111)
	})
}
