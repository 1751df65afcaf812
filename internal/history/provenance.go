package history

import (
	"context"
	"os"
	"os/exec"
	"strings"
)

// Provenance is who deployed and from which tree.
type Provenance struct {
	Actor    string
	GitSHA   string
	GitDirty bool
}

// Lookup reads an environment variable; os.LookupEnv outside tests.
type Lookup func(string) (string, bool)

// Find returns the actor and the git state of the checkout at root. In CI the actor is the CI
// identity (GITHUB_ACTOR, else the CI's user variable); on a laptop it is git's user.name and
// user.email. Nothing here fails a deploy: unknown parts stay "unknown" or empty.
func Find(ctx context.Context, root string, lookup Lookup) Provenance {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	p := Provenance{Actor: actor(ctx, root, lookup)}
	if out, err := git(ctx, root, "rev-parse", "HEAD"); err == nil {
		p.GitSHA = out
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		p.GitDirty = len(strings.TrimSpace(string(out))) > 0
	}
	return p
}

func actor(ctx context.Context, root string, lookup Lookup) string {
	if a, ok := lookup("GITHUB_ACTOR"); ok && a != "" {
		return "github:" + a
	}
	for _, k := range []string{"GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR", "CI_ACTOR"} {
		if a, ok := lookup(k); ok && a != "" {
			return "ci:" + a
		}
	}
	name, _ := git(ctx, root, "config", "user.name")
	email, _ := git(ctx, root, "config", "user.email")
	switch {
	case name != "" && email != "":
		return name + " <" + email + ">"
	case name != "" || email != "":
		return name + email
	}
	if u, ok := lookup("USER"); ok && u != "" {
		return u
	}
	return "unknown"
}

func git(ctx context.Context, root string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...).Output()
	return strings.TrimSpace(string(out)), err
}
