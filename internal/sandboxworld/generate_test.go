package sandboxworld

import (
	"context"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Generated tenants pass validation as the template does: a deploy (and so `mage bench`)
// validates them, cross-tenant rules included (display names, KV namespace ids, ports).
func TestGeneratedTenantsPassValidation(t *testing.T) {
	repo, err := workspace.Cwd()
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(repo, t.TempDir(), Options{Generate: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	v, err := validate.New(w.WS, nil, validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := v.Run(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("%s", p)
	}
}
