package cfapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrLiveChanged is matched (errors.Is) by a guarded deployment write that found the live
// deployment other than the writer expected, before its write (nothing was written) or after
// it (somebody else wrote in between): a dashboard click, an old tool, another machine.
var ErrLiveChanged = errors.New("the live deployment is not what this run expected")

// LiveChangedError says what a guarded write expected and what it found.
type LiveChangedError struct {
	Script string
	// When is "before" (the write was not made) or "after" (it was made, and is not live).
	When     string
	Expected []string
	Found    []string
}

func (e *LiveChangedError) Error() string {
	if e.When == "before" {
		return fmt.Sprintf("%s: %s serves %s, not %s as this run planned; nothing was written over it (somebody else deployed meanwhile: check `go tool mage deploy:status`)",
			ErrLiveChanged, e.Script, listOrNothing(e.Found), listOrNothing(e.Expected))
	}
	return fmt.Sprintf("%s: right after this run deployed %s, %s serves %s (somebody else deployed at the same moment: check `go tool mage deploy:status`)",
		ErrLiveChanged, listOrNothing(e.Expected), e.Script, listOrNothing(e.Found))
}

func (e *LiveChangedError) Unwrap() error { return ErrLiveChanged }

func listOrNothing(ids []string) string {
	if len(ids) == 0 {
		return "nothing"
	}
	return strings.Join(ids, " + ")
}

// DeployVersionChecked is the one owner of the tool's deployment writes: it reads the live
// deployment right before (does it serve exactly the versions in expect, in any order? nil
// expect means no deployment yet), makes the write (DeployVersion), and reads it right after
// (does versionID alone serve?). Either mismatch is a *LiveChangedError; a read that fails is
// returned as it is, before the write or after it. Every write that puts a version at 100%
// (annotate, rollback, the automatic rollback, promote and abort, the secrets carry-over) goes
// through here, so none of them writes over a version that is no longer its own.
func (c *Client) DeployVersionChecked(ctx context.Context, script string, expect []string, versionID, message string, force bool) (Deployment, error) {
	before, err := c.liveIDs(ctx, script)
	if err != nil {
		return Deployment{}, fmt.Errorf("reading the live deployment of %s before deploying %s: %w", script, versionID, err)
	}
	if !sameSet(before, expect) {
		return Deployment{}, &LiveChangedError{Script: script, When: "before", Expected: expect, Found: before}
	}
	d, err := c.DeployVersion(ctx, script, versionID, message, force)
	if err != nil {
		return d, err
	}
	after, err := c.liveIDs(ctx, script)
	if err != nil {
		return d, fmt.Errorf("reading the live deployment of %s after deploying %s: %w", script, versionID, err)
	}
	if !sameSet(after, []string{versionID}) {
		return d, &LiveChangedError{Script: script, When: "after", Expected: []string{versionID}, Found: after}
	}
	return d, nil
}

func (c *Client) liveIDs(ctx context.Context, script string) ([]string, error) {
	d, err := c.LiveDeployment(ctx, script)
	if errors.Is(err, ErrNotDeployed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return d.VersionIDs(), nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
