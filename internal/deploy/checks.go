package deploy

import (
	"context"
	"fmt"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// checksStep refuses a deploy whose tree failed its deploy checks (the magefile runs the gate
// before the deploy and hands its result over in Options.Checks). It runs right after resolve,
// so the refusal is an attempt with a record (failed, naming the check), as a refused
// validation or preflight is, and nothing is built, locked or uploaded.
type checksStep struct{}

func (checksStep) Name() string { return "checks" }
func (checksStep) Run(_ context.Context, st *State) error {
	c := st.Opts.Checks
	if c == nil || c.Status != history.ChecksFailed {
		return nil
	}
	if c.Emergency {
		// The operator already gave -emergency=true: suggesting it again would be no help.
		return fmt.Errorf("refused by the checks: %q failed for tree %.19s, before anything was uploaded (even -emergency=true runs the Worker's typecheck: fix it)", c.Failed, c.Tree)
	}
	return fmt.Errorf("refused by the checks: %q failed for tree %.19s, before anything was uploaded (fix it, or in an emergency deploy with -emergency=true, which the record notes)", c.Failed, c.Tree)
}
