package drift

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
)

// RequestsPerTenant is how many API requests ReadLive makes for a deployed Worker (one for
// a Worker that is not deployed). Kept small and fixed so `drift all` stays far inside each
// token's budget; the bench target measures it.
const RequestsPerTenant = 7

// ReadLive reads what Cloudflare runs for worker: the deployment first, then the serving
// version (bindings, compatibility), its code, schedules, secret names, routes and custom
// domains at once. Retries, 429 waits and the per-token budget are the Reader's (cfapi).
func ReadLive(ctx context.Context, r cfapi.Reader, worker string) (Live, error) {
	dep, err := r.LiveDeployment(ctx, worker)
	if errors.Is(err, cfapi.ErrNotDeployed) {
		return Live{}, nil
	}
	if err != nil {
		return Live{}, fmt.Errorf("read deployment: %w", err)
	}
	l := Live{Deployed: true, VersionID: dep.Primary().VersionID}
	if len(dep.Versions) > 1 {
		l.Split = dep.Versions
	}
	if l.VersionID == "" {
		return Live{}, fmt.Errorf("read deployment: deployment %s names no version", dep.ID)
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	read := func(what string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("read %s: %w", what, err))
				mu.Unlock()
			}
		}()
	}
	read("version", func() error {
		v, err := r.Version(ctx, worker, l.VersionID)
		if err != nil {
			return err
		}
		mu.Lock()
		l.Bindings, l.CompatibilityDate, l.CompatibilityFlags = v.Bindings, v.CompatibilityDate, v.CompatibilityFlags
		mu.Unlock()
		return nil
	})
	read("code", func() error {
		sum, err := r.ContentSHA256(ctx, worker, l.VersionID)
		mu.Lock()
		l.CodeSHA256 = sum
		mu.Unlock()
		return err
	})
	read("schedules", func() error {
		ss, err := r.Schedules(ctx, worker)
		mu.Lock()
		for _, s := range ss {
			l.Crons = append(l.Crons, s.Cron)
		}
		mu.Unlock()
		return err
	})
	read("secrets", func() error {
		ss, err := r.Secrets(ctx, worker)
		mu.Lock()
		for _, s := range ss {
			l.Secrets = append(l.Secrets, s.Name)
		}
		mu.Unlock()
		return err
	})
	read("routes", func() error {
		s, err := r.Script(ctx, worker)
		mu.Lock()
		for _, rt := range s.Routes {
			l.Routes = append(l.Routes, rt.Pattern)
		}
		mu.Unlock()
		return err
	})
	read("custom domains", func() error {
		ds, err := r.Domains(ctx, worker)
		mu.Lock()
		for _, d := range ds {
			l.Domains = append(l.Domains, d.Hostname)
		}
		mu.Unlock()
		return err
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Live{}, err
	}
	return l, nil
}
