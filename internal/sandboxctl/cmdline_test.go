package sandboxctl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCmdlineNamesTheProgram: our own command line names this test binary, and a process that
// has exited has none (so a stale pid is never taken for ours).
func TestCmdlineNamesTheProgram(t *testing.T) {
	c, err := Cmdline(os.Getpid())
	if err != nil || !strings.Contains(c, filepath.Base(os.Args[0])) {
		t.Fatalf("Cmdline(self) = %q, %v", c, err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no `true` to run: %v", err)
	}
	if c, err := Cmdline(cmd.Process.Pid); err == nil {
		t.Errorf("an exited process has a command line: %q", c)
	}
}
