package fleet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
)

// MaxJobs is the most jobs one GitHub Actions matrix may have.
const MaxJobs = 256

// Chunk is one job of a sharded fleet deploy: the tenants it deploys with `deploy:all -only=`
// and the names of the secrets (one token per tenant) it maps into its environment.
type Chunk struct {
	Chunk   int    `json:"chunk"`
	Tenants string `json:"tenants"` // comma-separated, for -only=
	Secrets string `json:"secrets"` // space-separated token variable names, in the tenants' order
	Count   int    `json:"count"`
}

// Chunks shards names, in order, into jobs of at most size tenants. It refuses a size that
// would need more than MaxJobs jobs, naming the smallest size that fits.
func Chunks(names []string, size int) ([]Chunk, error) {
	if size < 1 {
		return nil, fmt.Errorf("-chunk=%d: a chunk holds 1 or more tenants", size)
	}
	if jobs := (len(names) + size - 1) / size; jobs > MaxJobs {
		least := (len(names) + MaxJobs - 1) / MaxJobs
		return nil, fmt.Errorf("-chunk=%d: %d tenants make %d jobs, more than the %d a GitHub Actions matrix allows; use -chunk=%d or more",
			size, len(names), jobs, MaxJobs, least)
	}
	out := []Chunk{}
	for i, part := range slices.Collect(slices.Chunk(names, size)) {
		vars := make([]string, len(part))
		for j, n := range part {
			vars[j] = creds.VarName(n)
		}
		out = append(out, Chunk{Chunk: i + 1, Tenants: strings.Join(part, ","), Secrets: strings.Join(vars, " "), Count: len(part)})
	}
	return out, nil
}
