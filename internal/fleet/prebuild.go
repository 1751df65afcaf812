package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/buildcache"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Prebuilt is what a fleet deploy built once: the bundle each tenant uploads (tenants with
// the same build key share one) and one line per build for the operator.
type Prebuilt struct {
	Bundles map[string]*wrangler.Bundle
	Lines   []string
}

// sharedKeep is how long a shared bundle nobody used stays in .build/.shared.
const sharedKeep = 7 * 24 * time.Hour

// Prebuild bundles, once per build key (buildcache.SharedKey), the Worker code that the
// selected tenants would each bundle for env, so that each tenant's deploy uploads the ready
// bundle (wrangler's --no-bundle) and wrangler bundles once per fleet instead of once per
// tenant. Only keys shared by two or more tenants are built here: a tenant alone with its key
// gains nothing and builds inside its own deploy, as does every tenant whose key cannot be
// computed or whose shared build fails. So a failure here never fails a tenant; its own
// deploy meets the same problem and records it.
//
// A build goes into a fresh folder that is renamed into place, so a concurrent fleet deploy
// never reads a half-written bundle; a bundle of the same key already in place is reused.
func Prebuild(ctx context.Context, ws workspace.Workspace, run wrangler.Runner, tenants []string, env tenant.Env, stderr io.Writer) Prebuilt {
	type group struct {
		key     string
		members []string
		first   *tenant.Tenant
		wenv    string
	}
	var order []*group
	groups := map[string]*group{}
	for _, name := range tenants {
		t, err := tenant.Load(ctx, ws, name)
		if err != nil {
			continue
		}
		r, err := t.Resolve(env)
		if err != nil {
			continue
		}
		key, why, err := buildcache.SharedKey(ws, r)
		if err != nil || why != "" {
			continue
		}
		g := groups[key]
		if g == nil {
			g = &group{key: key, first: t, wenv: r.WranglerEnv}
			groups[key] = g
			order = append(order, g)
		}
		g.members = append(g.members, name)
	}
	out := Prebuilt{Bundles: map[string]*wrangler.Bundle{}}
	for _, g := range order {
		if len(g.members) < 2 || ctx.Err() != nil {
			continue
		}
		start := time.Now()
		b, reused, err := sharedBuild(ctx, ws, run, g.key, wrangler.Invocation{ConfigPath: g.first.WranglerPath(), Env: g.wenv})
		if err != nil && ctx.Err() != nil {
			break // interrupted: the run that follows stops the tenants and says so
		}
		if err != nil {
			fmt.Fprintf(stderr, "warning: the shared build for %s failed, so each of them builds in its own deploy: %v\n",
				strings.Join(g.members, ", "), err)
			continue
		}
		for _, m := range g.members {
			out.Bundles[m] = &b
		}
		how := fmt.Sprintf("built in %s", time.Since(start).Round(time.Millisecond))
		if reused {
			how = "already built"
		}
		out.Lines = append(out.Lines, fmt.Sprintf("one bundle for %d tenant(s) (sha256 %.12s, %s, %s); each uploads it without bundling again",
			len(g.members), b.SHA256, how, relTo(ws.Root, b.Dir)))
	}
	pruneShared(ws, time.Now())
	return out
}

// sharedBuild returns the bundle of key, building it with inv (a dry run, no token) unless a
// complete one is in place.
func sharedBuild(ctx context.Context, ws workspace.Workspace, run wrangler.Runner, key string, inv wrangler.Invocation) (wrangler.Bundle, bool, error) {
	dir := ws.SharedBundleDir(key)
	if b, ok := buildcache.Lookup(dir, key); ok {
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // in use: pruneShared keeps it
		return b, true, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return wrangler.Bundle{}, false, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), key[:12]+".building-")
	if err != nil {
		return wrangler.Bundle{}, false, err
	}
	defer os.RemoveAll(tmp) // gone after the rename; left only by a failure
	b, err := run.Build(ctx, inv, tmp)
	if err != nil {
		return wrangler.Bundle{}, false, err
	}
	buildcache.Stamp(b, key)
	// A folder in place without a valid stamp is no one's bundle (every run checks the stamp
	// before using one), so it is cleared; a complete one, just put there by a concurrent run
	// of the same key, makes the rename fail and is used instead.
	if _, err := os.Stat(dir); err == nil {
		if _, ok := buildcache.Lookup(dir, key); !ok {
			_ = os.RemoveAll(dir)
		}
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return wrangler.Bundle{}, false, err
	}
	got, ok := buildcache.Lookup(dir, key)
	if !ok {
		return wrangler.Bundle{}, false, fmt.Errorf("the bundle in %s does not match its stamp after the build", dir)
	}
	return got, false, nil
}

// pruneShared removes shared bundles unused for sharedKeep, and the build folders a killed
// run left behind once they are an hour old.
func pruneShared(ws workspace.Workspace, now time.Time) {
	root := filepath.Dir(ws.SharedBundleDir("x"))
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		keep := sharedKeep
		if strings.Contains(e.Name(), ".building-") {
			keep = time.Hour
		}
		if err != nil || now.Sub(info.ModTime()) < keep {
			continue
		}
		_ = os.RemoveAll(filepath.Join(root, e.Name()))
	}
}

func relTo(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}
