package deploy

import (
	"fmt"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// writeRecord stores the attempt in deployments/. It runs even when ctx is cancelled: an
// interrupted deploy must leave its record.
func (st *State) writeRecord() (string, error) {
	rec := st.Record
	if rec.WranglerVersion == "" {
		rec.WranglerVersion = wrangler.PinnedVersion
	}
	st.Record = rec
	file, err := history.Open(st.Opts.Workspace.DeploymentsDir()).Write(rec, st.Token.Value.Reveal())
	if err != nil {
		return "", fmt.Errorf("deploy %s/%s: writing the record: %w", st.Opts.Tenant, st.Opts.Env, err)
	}
	return file, nil
}
