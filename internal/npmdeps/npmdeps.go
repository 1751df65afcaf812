package npmdeps

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// mu serialises installs inside one process: targets running in goroutines may all ask.
var mu sync.Mutex

// Stale reports whether root/node_modules is missing or older than package-lock.json.
// npm ci writes node_modules/.package-lock.json last, so its time is the install's time.
func Stale(root string) (bool, error) {
	lock, err := os.Stat(filepath.Join(root, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("npm packages: %w (package-lock.json must be committed)", err)
	}
	inst, err := os.Stat(filepath.Join(root, "node_modules", ".package-lock.json"))
	if err != nil {
		return true, nil
	}
	return inst.ModTime().Before(lock.ModTime()), nil
}

// Ensure runs `npm ci` in root when the install is missing or stale. It logs what it does on
// log and returns npm's output in the error when npm fails.
func Ensure(ctx context.Context, log *slog.Logger, root string) error {
	mu.Lock()
	defer mu.Unlock()
	stale, err := Stale(root)
	if err != nil || !stale {
		return err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm packages: npm not found on PATH; install Node.js 20 (with npm) and run again: %w", err)
	}
	log.Info("installing node packages (npm ci)", "dir", root)
	start := time.Now()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm packages: npm ci failed: %w\n%s", err, out.String())
	}
	log.Info("node packages installed", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
