package tenant

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
)

// FuzzLoad parses arbitrary bytes as both tenant files, builds a Tenant and resolves every
// env. Nothing may panic, and every position must lie inside the file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(testConfig), []byte(testWrangler))
	// Seed with the validation corpus (package validate's testdata).
	files, _ := filepath.Glob(filepath.Join("..", "validate", "testdata", "*", "*", "tenants", "*", "*"))
	more, _ := filepath.Glob(filepath.Join("..", "validate", "testdata", "base", "tenants", "*", "*"))
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, b)
			f.Add([]byte(testConfig), b)
		}
	}
	f.Fuzz(func(t *testing.T, cfg, wr []byte) {
		cd, err := jsonc.Parse("c.json", cfg, false)
		if err != nil {
			return
		}
		wd, err := jsonc.Parse("w.jsonc", wr, true)
		if err != nil {
			return
		}
		for _, d := range []*jsonc.Document{cd, wd} {
			for _, ptr := range []string{"", "/env", "/env/staging/vars", "/a/b/c/0", "/~1x"} {
				line, col := d.Position(ptr)
				kl, kc := d.KeyPosition(ptr)
				if line < 1 || col < 1 || kl < 1 || kc < 1 {
					t.Fatalf("position of %q out of range: %d:%d / %d:%d", ptr, line, col, kl, kc)
				}
			}
			_ = d.DuplicateKeys()
		}
		tn, err := FromDocuments("acme", filepath.Join("tenants", "acme"), cd, wd)
		if err != nil {
			return
		}
		for _, e := range Envs {
			if r, err := tn.Resolve(e); err == nil {
				for _, b := range r.Bindings {
					wd.Position(b.Pointer)
				}
			}
			_, _ = tn.HealthURL(e)
		}
	})
}
