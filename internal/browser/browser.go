package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// ErrMissing is returned (wrapped) when Chromium is not installed.
var ErrMissing = errors.New("chromium is not installed (install it with `apt-get install chromium`, or set CHROMIUM_BIN to a Chromium or Chrome binary)")

// Chromium runs one headless Chromium per call.
type Chromium struct {
	// Path of the binary; "" means the first found (see path).
	Path string
	// Timeout bounds one run; zero means 60 s.
	Timeout time.Duration
}

// path is c.Path, else $CHROMIUM_BIN, else Debian's /usr/bin/chromium, else the first of
// chromium, chromium-browser and google-chrome on PATH (GitHub's Ubuntu runners ship Chrome),
// else DefaultPath, which Available then reports missing.
func (c Chromium) path() string {
	if c.Path != "" {
		return c.Path
	}
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	if _, err := os.Stat(DefaultPath); err == nil {
		return DefaultPath
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return DefaultPath
}

// Available reports whether the binary is there, with ErrMissing when it is not.
func (c Chromium) Available() error {
	if _, err := os.Stat(c.path()); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMissing, c.path(), err)
	}
	return nil
}

// TB is the part of testing.TB that Need uses (this package is in the mage binary, which
// must not import testing).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Need is the first line of a test that loads a page in Chromium. Under CI=true a missing
// browser fails the test loudly, naming how to install it: CI must run it. Elsewhere (a
// laptop, a fresh clone) the test is skipped and says it did not run, so that nothing an
// operator runs needs a browser.
func (c Chromium) Need(t TB) {
	t.Helper()
	err := c.Available()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the browser test cannot run: %v", err)
		return
	}
	t.Skipf("did not run (the report's browser test; CI runs it): %v", err)
}

// flags keep a headless run offline and reproducible: no GPU, no sandbox (containers have no
// user namespaces), no QUIC, no first-run, sync, component updates or background networking.
var flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
	"--disable-default-apps", "--mute-audio", "--hide-scrollbars"}

// run starts Chromium on file with extra flags in a fresh profile and returns its stdout and
// how long it ran.
func (c Chromium) run(ctx context.Context, file string, extra ...string) ([]byte, time.Duration, error) {
	if err := c.Available(); err != nil {
		return nil, 0, err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, 0, err
	}
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(profile)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append(append(slices.Clone(flags), "--user-data-dir="+profile), extra...)
	args = append(args, "file://"+filepath.ToSlash(abs))
	cmd := exec.CommandContext(ctx, c.path(), args...)
	cmd.Dir = profile
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if err != nil {
		return nil, took, fmt.Errorf("chromium %s: %w: %s", filepath.Base(file), err, tail(errb.String()))
	}
	return out.Bytes(), took, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// DumpDOM loads file and returns the serialised DOM after load, and how long Chromium ran.
func (c Chromium) DumpDOM(ctx context.Context, file string) (string, time.Duration, error) {
	out, took, err := c.run(ctx, file, "--dump-dom")
	return string(out), took, err
}

// Screenshot loads file in a width × height window and writes a PNG to out.
func (c Chromium) Screenshot(ctx context.Context, file, out string, width, height int) (time.Duration, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return 0, err
	}
	_, took, err := c.run(ctx, file, "--screenshot="+abs, fmt.Sprintf("--window-size=%d,%d", width, height))
	if err != nil {
		return took, err
	}
	if _, err := os.Stat(abs); err != nil {
		return took, fmt.Errorf("chromium wrote no screenshot: %w", err)
	}
	return took, nil
}

// Colours decodes a PNG and counts its distinct colours: a blank page has one or two.
func Colours(pngFile string) (int, error) {
	f, err := os.Open(pngFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", pngFile, err)
	}
	seen := map[uint64]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[uint64(r)<<48|uint64(g)<<32|uint64(bl)<<16|uint64(a)] = true
		}
	}
	return len(seen), nil
}
