package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Workspace is the repository checkout the tool works in.
type Workspace struct {
	// Root is the absolute path of the folder holding go.mod and package.json.
	Root string
	// Records, when set, replaces deployments/ as the folder of deployment records. It is set
	// while a run rehearses against the local sandbox, so that records of a make-believe world
	// never enter the committed history (and rollback never aims at a version that exists
	// only in the sandbox).
	Records string
}

// Find walks up from dir to the first folder holding both go.mod and package.json.
func Find(dir string) (Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Workspace{}, fmt.Errorf("workspace: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, "go.mod")) && isFile(filepath.Join(d, "package.json")) {
			return Workspace{Root: d}, nil
		}
		if filepath.Dir(d) == d {
			return Workspace{}, errors.New("workspace: no folder with go.mod and package.json above " + abs + "; run the target inside the repository")
		}
	}
}

// Cwd finds the workspace around the current directory.
func Cwd() (Workspace, error) {
	wd, err := os.Getwd()
	if err != nil {
		return Workspace{}, fmt.Errorf("workspace: %w", err)
	}
	return Find(wd)
}

// TenantsDir holds one folder per tenant.
func (w Workspace) TenantsDir() string { return filepath.Join(w.Root, "tenants") }

// TenantDir is the folder of one tenant. The name must already be checked (tenant.ValidName).
func (w Workspace) TenantDir(name string) string { return filepath.Join(w.TenantsDir(), name) }

// DeploymentsDir holds the JSON records of every deploy and rollback attempt: deployments/,
// or Records when that is set.
func (w Workspace) DeploymentsDir() string {
	if w.Records != "" {
		return w.Records
	}
	return filepath.Join(w.Root, "deployments")
}

// SchemasDir holds our own JSON Schemas.
func (w Workspace) SchemasDir() string { return filepath.Join(w.Root, "schemas") }

// WorkerDir is the Worker that every tenant deploys.
func (w Workspace) WorkerDir() string { return filepath.Join(w.Root, "apps", "worker-api") }

// NodeModules is the npm install folder (wrangler, TypeScript).
func (w Workspace) NodeModules() string { return filepath.Join(w.Root, "node_modules") }

// NodeBin is the path of an npm-installed executable such as "wrangler" or "tsc".
func (w Workspace) NodeBin(name string) string { return filepath.Join(w.NodeModules(), ".bin", name) }

// WranglerSchema is the config schema that wrangler ships.
func (w Workspace) WranglerSchema() string {
	return filepath.Join(w.NodeModules(), "wrangler", "config-schema.json")
}

// StateDir holds local, git-ignored state: the sandbox, dev servers, locks, build output.
// Subfolders are created by their owners.
func (w Workspace) StateDir() string { return filepath.Join(w.Root, ".state") }

// BuildDir holds dry-run bundles, one folder per tenant/env.
func (w Workspace) BuildDir() string { return filepath.Join(w.Root, ".build") }

// BundleDir is where the bundle of one tenant/env is built and cached: .build/<tenant>/<env>.
// ci:build, deploy and drift all use it, so a bundle built by one is found by the others.
func (w Workspace) BundleDir(tenant, env string) string {
	return filepath.Join(w.BuildDir(), tenant, env)
}

// SharedBundleDir is where a fleet deploy builds, once, the bundle that every tenant with the
// same build key uploads: .build/.shared/<key>. Tenant names cannot start with a dot, so it
// never meets a tenant's folder.
func (w Workspace) SharedBundleDir(key string) string {
	return filepath.Join(w.BuildDir(), ".shared", key)
}

// LocksDir holds the tenant/env locks. Deploys and rollbacks take theirs here, so that one of
// each never runs at once on the same tenant/env.
func (w Workspace) LocksDir() string { return filepath.Join(w.StateDir(), "locks") }

// RunsDir holds one folder or log per deploy, rollback, smoke or plugin run, for a post-mortem.
func (w Workspace) RunsDir() string { return filepath.Join(w.StateDir(), "runs") }

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
