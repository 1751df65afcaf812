package sandboxctl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Cmdline is the command line of process pid, its arguments separated by spaces or NULs: from
// /proc on Linux, from `ps -o command=` where there is no /proc (macOS). It is how the sandbox
// and the wrangler dev servers make sure a pid from a runtime file is still theirs before they
// signal it; an error means it could not be read (the process is gone, or neither works).
func Cmdline(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil {
		return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), nil
	}
	if _, perr := os.Stat("/proc/self"); perr == nil {
		return "", err // Linux: the process is gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return "", errors.New("no such process")
	}
	return string(bytes.TrimSpace(out)), nil
}
