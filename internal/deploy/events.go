package deploy

import (
	"fmt"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Event is one thing a deploy reports while it runs: a pipeline step ending (Status "ok",
// "FAILED", "deferred", "unchanged", "planned", "FAILED (not fatal: …)") or a notice in the
// middle of one (Status "info", the sentence in Detail). It is what the human progress lines
// are made of, typed, so the fleet need not parse them.
type Event struct {
	Tenant   tenant.Name
	Env      tenant.Env
	Step     string
	Status   string
	Duration time.Duration
	Detail   string
}

// emit sends e to Options.OnEvent, if any.
func (st *State) emit(e Event) {
	if st.Opts.OnEvent == nil {
		return
	}
	e.Tenant, e.Env = st.Opts.Tenant, st.Opts.Env
	st.Opts.OnEvent(e)
}

// notef writes one notice line ("deploy acme/staging: …") and emits it as an info Event of step.
func (st *State) notef(step, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(st.Opts.Progress, "deploy %s/%s: %s\n", st.Opts.Tenant, st.Opts.Env, msg)
	st.emit(Event{Step: step, Status: "info", Detail: msg})
}
