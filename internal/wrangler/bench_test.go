package wrangler

import (
	"context"
	"testing"
)

// BenchmarkBuild is one `wrangler deploy --dry-run` of the fixture Worker through the Runner
// (scratch folder, environment, metadata capture and hashing included): the unit other
// speed goals are measured against. The two sub-benchmarks run side by side, with V8's code
// cache for wrangler's CLI (the default) and without it.
//
//	go test ./internal/wrangler -run '^$' -bench Build -benchtime 5x
func BenchmarkBuild(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache bool
	}{{"code-cache", true}, {"no-cache", false}} {
		b.Run(c.name, func(b *testing.B) {
			r := realRunner(b)
			if !c.cache {
				r.CodeCache = ""
			}
			out := b.TempDir()
			inv := Invocation{ConfigPath: "testdata/fixture/wrangler.jsonc", Env: "staging", ScratchDir: b.TempDir()}
			// The first run writes the cache; the timed ones use it.
			if _, err := r.Build(context.Background(), inv, out); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := r.Build(context.Background(), inv, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
