package gitrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Env is the environment of every git run, with extra appended.
func Env(extra ...string) []string {
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	for _, kv := range []string{"GIT_AUTHOR_NAME=deploy-records", "GIT_AUTHOR_EMAIL=deploy-records@users.noreply.github.com",
		"GIT_COMMITTER_NAME=deploy-records", "GIT_COMMITTER_EMAIL=deploy-records@users.noreply.github.com"} {
		k, _, _ := strings.Cut(kv, "=")
		if os.Getenv(k) == "" {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Error is a failed git run: its arguments, how it ended and what it said on stderr.
type Error struct {
	Args   []string
	Err    error
	Stderr string
	Stdout string
}

func (e *Error) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs git in repo and returns its trimmed stdout.
func Run(ctx context.Context, repo string, env []string, stdin []byte, args ...string) (string, error) {
	out, err := RunRaw(ctx, repo, env, stdin, args...)
	return strings.TrimSpace(string(out)), err
}

// RunRaw runs git in repo and returns its stdout as it was. A failed run's stdout is kept in
// the *Error (git push --porcelain says there which refs it refused).
func RunRaw(ctx context.Context, repo string, env []string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	cmd.Env = Env(env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, &Error{Args: args, Err: err, Stderr: errb.String(), Stdout: out.String()}
	}
	return out.Bytes(), nil
}
