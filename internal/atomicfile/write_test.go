package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesInOneStepAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{}, {Perm: 0o644, Sync: true}} {
		if err := Write(p, []byte("new"), o); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		st, _ := os.Stat(p)
		want := o.Perm
		if want == 0 {
			want = 0o600
		}
		if string(b) != "new" || st.Mode().Perm() != want {
			t.Errorf("%+v: got %q mode %v, want \"new\" mode %v", o, b, st.Mode().Perm(), want)
		}
		if des, _ := os.ReadDir(dir); len(des) != 1 {
			t.Errorf("%+v: folder holds %d entries, want only the file", o, len(des))
		}
	}
}

func TestWriteIntoAMissingFolderFailsAndWritesNothing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "absent", "state.json")
	if err := Write(p, []byte("x"), Options{}); err == nil {
		t.Fatal("want an error")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("stat: %v", err)
	}
}
