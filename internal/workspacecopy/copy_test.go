package workspacecopy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func TestCopyOfAMissingRepositoryFails(t *testing.T) {
	_, err := To(workspace.Workspace{Root: filepath.Join(t.TempDir(), "nothing")}, t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "workspacecopy: copy tenants") {
		t.Fatalf("err = %v", err)
	}
}
