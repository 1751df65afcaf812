package fleet

import (
	"fmt"
	"strings"
	"testing"
)

// 600 generated tenants: chunks of 3 make 200 jobs, in order, every tenant once with its own
// secret name beside it; chunks of 2 would make 300 jobs and are refused naming -chunk=3.
func TestChunks600Tenants(t *testing.T) {
	names := make([]string, 600)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%03d", i)
	}
	cs, err := Chunks(names, 3)
	if err != nil || len(cs) != 200 {
		t.Fatalf("Chunks(600, 3) = %d chunks, %v", len(cs), err)
	}
	var all []string
	for i, c := range cs {
		ts := strings.Split(c.Tenants, ",")
		vs := strings.Fields(c.Secrets)
		if c.Chunk != i+1 || c.Count != 3 || len(ts) != 3 || len(vs) != 3 {
			t.Fatalf("chunk %d = %+v", i, c)
		}
		for j := range ts {
			if vs[j] != "CLOUDFLARE_API_TOKEN_"+strings.ToUpper(strings.ReplaceAll(ts[j], "-", "_")) {
				t.Errorf("chunk %d: secret %s for %s", c.Chunk, vs[j], ts[j])
			}
		}
		all = append(all, ts...)
	}
	if strings.Join(all, ",") != strings.Join(names, ",") {
		t.Error("the chunks do not hold every tenant once, in order")
	}
	if _, err := Chunks(names, 2); err == nil || !strings.Contains(err.Error(), "-chunk=3") {
		t.Errorf("Chunks(600, 2) = %v, want a refusal naming -chunk=3", err)
	}
	if cs, err := Chunks(names, 256); err != nil || len(cs) != 3 || cs[2].Count != 600-512 {
		t.Errorf("Chunks(600, 256) = %+v, %v", cs, err)
	}
	if cs, err := Chunks(nil, 5); err != nil || len(cs) != 0 {
		t.Errorf("no tenants: %+v, %v", cs, err)
	}
	if _, err := Chunks(names, 0); err == nil {
		t.Error("-chunk=0 accepted")
	}
}
