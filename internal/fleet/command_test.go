package fleet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Issue 15: -parallel below 1 and a linked tenant folder are refused before anything runs
// (Prepare is never called), with the reason.
func TestDeployAllRefusesSloppyInput(t *testing.T) {
	root := t.TempDir()
	ws := workspace.Workspace{Root: root}
	for _, d := range []string{"acme", "beta-real"} {
		if err := os.MkdirAll(filepath.Join(ws.TenantsDir(), d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	prepared := false
	o := DeployAllOptions{Env: "staging", Workspace: ws, Stdout: &strings.Builder{}, Stderr: &strings.Builder{},
		Prepare: func(context.Context) (deploy.Options, error) {
			prepared = true
			return deploy.Options{}, errors.New("stop")
		}}
	for _, n := range []int{0, -1} {
		o.Parallel = n
		if _, err := DeployAll(context.Background(), o); err == nil || !strings.Contains(err.Error(), "must be 1 or more") {
			t.Errorf("-parallel=%d: %v", n, err)
		}
	}
	o.Parallel = 1
	if err := os.Symlink(filepath.Join(ws.TenantsDir(), "beta-real"), filepath.Join(ws.TenantsDir(), "beta")); err != nil {
		t.Fatal(err)
	}
	if _, err := DeployAll(context.Background(), o); !errors.Is(err, tenant.ErrSymlink) || !strings.Contains(err.Error(), "tenants/beta") {
		t.Errorf("with a linked tenant folder: %v", err)
	}
	if prepared {
		t.Error("Prepare ran for a refused request")
	}
}
