package ci

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// command is one external program a step runs.
type command struct {
	dir  string
	name string
	args []string
	// env is added to ours (GOOS=darwin for the darwin vet).
	env []string
}

// run starts c in its folder with our environment, streams its output to out and announces
// it with its duration. Cancelling ctx sends SIGINT (go test and tsc stop cleanly on it), then
// the process is killed after a grace period.
func (c command) run(ctx context.Context, out io.Writer) error {
	line := strings.Join(append(append(slices.Clone(c.env), c.name), c.args...), " ")
	fmt.Fprintf(out, "    $ %s\n", line)
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	fmt.Fprintf(out, "    (%s: %s)\n", c.name, round(time.Since(start)))
	if ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted: %w", line, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	return nil
}

// output runs c quietly and returns its stdout; stderr comes back in the error.
func (c command) output(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return string(b), fmt.Errorf("%s %s: %w\n%s%s", c.name, strings.Join(c.args, " "), err, b, stderr.String())
	}
	return string(b), nil
}

// goBin is the go command that runs mage itself, so CI uses the toolchain go.mod selected.
func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return root + "/bin/go"
	}
	return "go"
}
