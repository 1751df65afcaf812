package validate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// A deploy hands over the tenant it loaded: the report is Run's, made from the files as they
// were loaded, not from a second read (which could see another version of them).
func TestTenantChecksTheLoadedFilesAsRunDoes(t *testing.T) {
	root := baseWorkspace(t)
	v := validatorFor(t, root)
	ctx := context.Background()
	loaded, err := tenant.Load(ctx, workspace.Workspace{Root: root}, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	want, err := v.Run(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Tenant(ctx, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(brief(got.Problems), brief(want.Problems)) || !slices.Equal(got.Tenants, want.Tenants) {
		t.Errorf("Tenant = %v %v, Run = %v %v", got.Tenants, brief(got.Problems), want.Tenants, brief(want.Problems))
	}
	// The file changes on disk after the load: Run sees it, Tenant keeps to what was loaded.
	if err := os.WriteFile(filepath.Join(root, "tenants", "alpha", tenant.ConfigFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, err := v.Run(ctx, "alpha"); err != nil || rep.OK() {
		t.Fatalf("Run after the change: %v, %v; want a syntax problem", rep, err)
	}
	if rep, err := v.Tenant(ctx, loaded); err != nil || !slices.Equal(brief(rep.Problems), brief(want.Problems)) {
		t.Errorf("Tenant after the change: %v, %v; want the loaded files' report", rep, err)
	}
}
