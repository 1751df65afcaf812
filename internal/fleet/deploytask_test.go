package fleet

import (
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
)

func TestEventNotes(t *testing.T) {
	for _, c := range []struct {
		e             deploy.Event
		state, detail string
	}{
		{deploy.Event{Step: "build", Status: "ok", Duration: 1200 * time.Millisecond}, "build", "ok 1.2s"},
		{deploy.Event{Step: "verify", Status: "FAILED", Duration: 3 * time.Second}, "verify", "FAILED 3s"},
		{deploy.Event{Step: "rollout", Status: "info", Detail: "rollout step 1: a at 10%, b at 90%"}, "rollout", "rollout step 1: a at 10%, b at 90%"},
	} {
		if s, d := eventNote(c.e); s != c.state || d != c.detail {
			t.Errorf("eventNote(%+v) = %q %q, want %q %q", c.e, s, d, c.state, c.detail)
		}
	}
}
