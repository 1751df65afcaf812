package wrangler

import (
	"context"
	"testing"
)

// BenchmarkBuild is one `wrangler deploy --dry-run` of the fixture Worker through the Runner
// (scratch folder, environment, metadata capture and hashing included): the unit other
// speed goals are measured against.
//
//	go test ./internal/wrangler -run '^$' -bench Build -benchtime 5x
func BenchmarkBuild(b *testing.B) {
	r := realRunner(b)
	out := b.TempDir()
	inv := Invocation{ConfigPath: "testdata/fixture/wrangler.jsonc", Env: "staging", ScratchDir: b.TempDir()}
	for b.Loop() {
		if _, err := r.Build(context.Background(), inv, out); err != nil {
			b.Fatal(err)
		}
	}
}
