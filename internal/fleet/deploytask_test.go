package fleet

import (
	"fmt"
	"sync"
	"testing"
)

func TestLineNotesTurnStepLinesIntoNotes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	ln := newLineNotes(func(state, detail string) {
		mu.Lock()
		got = append(got, state+"|"+detail)
		mu.Unlock()
	}, "deploy acme/")
	// Written in pieces, as a logger might: lines must still come out whole, in order.
	fmt.Fprint(ln, "deploy acme/staging: build       ok        1.2")
	fmt.Fprint(ln, "s\n\ndeploy acme/staging: verify      FAILED    3s\nstray line without prefix\n")
	fmt.Fprint(ln, "deploy acme/staging: annotate ok 0s") // no newline: flushed by Close
	ln.Close()
	want := []string{"build|ok 1.2s", "verify|FAILED 3s", "stray|line without prefix", "annotate|ok 0s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notes %q, want %q", got, want)
	}
}
