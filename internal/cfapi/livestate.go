package cfapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// LiveState is everything drift and deploy's plan compare for one Worker, read in one go.
type LiveState struct {
	Deployment Deployment
	// Version is the deployment's primary version (the largest share), with its bindings,
	// compatibility settings and annotations.
	Version Version
	// ContentSHA256 is the sha256 of Version's entry module.
	ContentSHA256 string
	Schedules     []Schedule
	Secrets       []Secret
	// Script carries the migration tag and the zone routes.
	Script  Script
	Domains []Domain
}

// ReadLiveState reads the Worker's live state with 7 requests: the deployment first (it
// names the version), then the other six at once. A Worker that is not deployed gives an
// error matching ErrNotDeployed. It works on any Reader, so fakes get it for free.
func ReadLiveState(ctx context.Context, r Reader, script string) (LiveState, error) {
	dep, err := r.LiveDeployment(ctx, script)
	if err != nil {
		return LiveState{}, err
	}
	ls := LiveState{Deployment: dep}
	vid := dep.Primary().VersionID
	if vid == "" {
		return LiveState{}, fmt.Errorf("%s: deployment %s names no version", script, dep.ID)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	read := func(fn func() error) {
		wg.Go(func() {
			if err := fn(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel() // the state is useless without every part
			}
		})
	}
	read(func() (err error) { ls.Version, err = r.Version(ctx, script, vid); return })
	read(func() (err error) { ls.ContentSHA256, err = r.ContentSHA256(ctx, script, vid); return })
	read(func() (err error) { ls.Schedules, err = r.Schedules(ctx, script); return })
	read(func() (err error) { ls.Secrets, err = r.Secrets(ctx, script); return })
	read(func() (err error) { ls.Script, err = r.Script(ctx, script); return })
	read(func() (err error) { ls.Domains, err = r.Domains(ctx, script); return })
	wg.Wait()
	if len(errs) > 0 {
		// The first error is the cause; later ones are usually "context canceled" from it.
		for _, e := range errs {
			if !errors.Is(e, context.Canceled) {
				return LiveState{}, e
			}
		}
		return LiveState{}, errs[0]
	}
	return ls, nil
}
