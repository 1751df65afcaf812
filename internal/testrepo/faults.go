package testrepo

import (
	"os"
	"os/exec"
)

// Unwritable makes dir refuse new files for the rest of the test (a records folder on a
// read-only or full disk, say). Root ignores permissions, so as root it sets the immutable
// attribute (chattr +i) instead of removing the write bits; when neither stops a write the test
// fails rather than pass without the fault.
func Unwritable(tb TB, dir string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			tb.Fatalf("chmod %s: %v", dir, err)
		}
		tb.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	} else {
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			tb.Fatalf("chattr +i %s (root ignores permissions, so the test needs it): %v %s", dir, err, out)
		}
		tb.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
	}
	if f, err := os.CreateTemp(dir, "probe-"); err == nil {
		f.Close()
		_ = os.Remove(f.Name())
		tb.Fatalf("%s still takes writes", dir)
	}
}
