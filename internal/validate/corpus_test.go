package validate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBaseIsValid guards the corpus: every problem a case reports comes from its overlay.
func TestBaseIsValid(t *testing.T) {
	v := validatorFor(t, baseWorkspace(t))
	r, err := v.Run(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("base corpus tenants have problems:\n%s", strings.Join(brief(r.Problems), "\n"))
	}
	if !slices.Equal(r.Tenants, []string{"alpha", "beta"}) {
		t.Fatalf("tenants = %v", r.Tenants)
	}
}

// TestCorpus runs every broken config under testdata/corpus. A case folder holds files that
// replace the base's (same relative paths), an optional remove.txt naming base files to
// delete, and want.txt: the exact "path:line:col: rule" lines validate all must report.
func TestCorpus(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Fatalf("corpus has %d cases, want at least 25", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "corpus", c.Name())
			root := baseWorkspace(t)
			applyCase(t, dir, root)
			want := readLines(t, filepath.Join(dir, "want.txt"))
			if len(want) == 0 {
				t.Fatal("want.txt is empty: a corpus case must expect at least one problem")
			}
			r, err := validatorFor(t, root).Run(context.Background(), "all")
			if err != nil {
				t.Fatal(err)
			}
			got := brief(r.Problems)
			if !slices.Equal(got, want) {
				var full []string
				for _, p := range r.Problems {
					full = append(full, p.String()+"  [hint: "+p.Hint+"]")
				}
				t.Errorf("got:\n%s\nwant:\n%s\nfull:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), strings.Join(full, "\n"))
			}
			for _, p := range r.Problems {
				if p.Message == "" {
					t.Errorf("%s has no message", p)
				}
			}
		})
	}
}

func applyCase(t *testing.T, dir, root string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "want.txt" || rel == "remove.txt" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		target := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "remove.txt")); err == nil {
		for _, rel := range readLines(t, filepath.Join(dir, "remove.txt")) {
			if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
