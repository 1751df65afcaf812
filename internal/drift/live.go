package drift

import (
	"context"
	"errors"
	"fmt"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
)

// RequestsPerTenant is how many API requests ReadLive makes for a deployed Worker (one for
// a Worker that is not deployed). Kept small and fixed so `drift all` stays far inside each
// token's budget; the bench target measures it.
const RequestsPerTenant = 7

// ReadLive reads what Cloudflare runs for worker with cfapi.ReadLiveState: the deployment
// first, then the serving version (bindings, compatibility), its code, schedules, secret
// names, routes and custom domains at once. Retries, 429 waits and the per-token budget are
// the Reader's (cfapi). A Worker that is not deployed is Live{Deployed: false}, not an error.
func ReadLive(ctx context.Context, r cfapi.Reader, worker string) (Live, error) {
	ls, err := cfapi.ReadLiveState(ctx, r, worker)
	if errors.Is(err, cfapi.ErrNotDeployed) {
		return Live{}, nil
	}
	if err != nil {
		return Live{}, fmt.Errorf("read live state: %w", err)
	}
	l := Live{
		Deployed: true, VersionID: ls.Deployment.Primary().VersionID, TriggeredBy: ls.Version.Annotations.TriggeredBy, CodeSHA256: ls.ContentSHA256,
		Bindings: ls.Version.Bindings, CompatibilityDate: ls.Version.CompatibilityDate, CompatibilityFlags: ls.Version.CompatibilityFlags,
	}
	if len(ls.Deployment.Versions) > 1 {
		l.Split = ls.Deployment.Versions
	}
	for _, s := range ls.Schedules {
		l.Crons = append(l.Crons, s.Cron)
	}
	for _, s := range ls.Secrets {
		l.Secrets = append(l.Secrets, s.Name)
	}
	for _, rt := range ls.Script.Routes {
		l.Routes = append(l.Routes, rt.Pattern)
	}
	for _, d := range ls.Domains {
		l.Domains = append(l.Domains, d.Hostname)
	}
	return l, nil
}
