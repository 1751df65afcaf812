package validate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// corpusSeeds returns (tenant.config.json, wrangler.jsonc) pairs from the base tenants and
// every corpus case, falling back to the base file where a case does not replace it.
func corpusSeeds(tb testing.TB) [][2][]byte {
	tb.Helper()
	base := func(t, f string) []byte {
		b, _ := os.ReadFile(filepath.Join("testdata", "base", "tenants", t, f))
		return b
	}
	seeds := [][2][]byte{
		{base("alpha", tenant.ConfigFile), base("alpha", tenant.WranglerFile)},
		{base("beta", tenant.ConfigFile), base("beta", tenant.WranglerFile)},
	}
	cases, _ := os.ReadDir(filepath.Join("testdata", "corpus"))
	for _, c := range cases {
		for _, t := range []string{"alpha", "beta"} {
			dir := filepath.Join("testdata", "corpus", c.Name(), "tenants", t)
			cfg, errC := os.ReadFile(filepath.Join(dir, tenant.ConfigFile))
			wr, errW := os.ReadFile(filepath.Join(dir, tenant.WranglerFile))
			if errC != nil && errW != nil {
				continue
			}
			if errC != nil {
				cfg = base(t, tenant.ConfigFile)
			}
			if errW != nil {
				wr = base(t, tenant.WranglerFile)
			}
			seeds = append(seeds, [2][]byte{cfg, wr})
		}
	}
	return seeds
}

// FuzzValidate feeds arbitrary file contents through parsing, both schemas and every
// single-tenant rule. It must never panic, and every problem must name a file and a rule.
func FuzzValidate(f *testing.F) {
	for _, s := range corpusSeeds(f) {
		f.Add(s[0], s[1])
	}
	root := baseWorkspace(f)
	v := validatorFor(f, root)
	dir := filepath.Join(root, "tenants", "alpha")
	f.Fuzz(func(t *testing.T, cfg, wr []byte) {
		cd, errC := jsonc.Parse("tenants/alpha/tenant.config.json", cfg, false)
		wd, errW := jsonc.Parse("tenants/alpha/wrangler.jsonc", wr, true)
		if (cd == nil) == (errC == nil) || (wd == nil) == (errW == nil) {
			t.Fatalf("ParseDocument must return exactly one of document and error")
		}
		for _, p := range v.CheckDocuments("alpha", dir, cd, wd) {
			if p.Rule == "" || p.Message == "" || p.Path == "" || p.Line < 0 || p.Col < 0 {
				t.Fatalf("malformed problem %+v", p)
			}
		}
	})
}

// CheckDocuments, for the fuzz test, runs the schema and single-tenant rules on already parsed documents (either
// may be nil when it failed to parse), without reading anything but the entry module's
// existence. The problems are not sorted.
func (v *Validator) CheckDocuments(name, dir string, config, wrangler *jsonc.Document) []Problem {
	return v.checkDocuments(&checked{name: name}, name, dir, config, wrangler)
}
