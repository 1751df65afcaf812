package recordsbranch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// gitEnv is the environment of every git run: never prompt (CI has no terminal), and commit
// as the records bot unless the caller's environment already names someone.
func gitEnv(extra ...string) []string {
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

type gitErr struct {
	args   []string
	err    error
	stderr string
}

func (e *gitErr) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.stderr))
}

func (e *gitErr) Unwrap() error { return e.err }

// run runs git in repo and returns its trimmed stdout.
func run(ctx context.Context, repo string, env []string, stdin []byte, args ...string) (string, error) {
	out, err := runRaw(ctx, repo, env, stdin, args...)
	return strings.TrimSpace(string(out)), err
}

func runRaw(ctx context.Context, repo string, env []string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	cmd.Env = gitEnv(env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, &gitErr{args: args, err: err, stderr: errb.String()}
	}
	return out.Bytes(), nil
}
