package browser

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestColoursCountsDistinctPixels(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	img.Set(1, 1, color.RGBA{200, 0, 0, 255})
	img.Set(2, 2, color.RGBA{0, 0, 200, 255})
	p := filepath.Join(t.TempDir(), "x.png")
	f, _ := os.Create(p)
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if n, err := Colours(p); err != nil || n != 3 {
		t.Fatalf("Colours = %d, %v; want 3", n, err)
	}
}

func TestMissingBrowserIsNamed(t *testing.T) {
	err := Chromium{Path: filepath.Join(t.TempDir(), "no-chromium")}.Available()
	if err == nil {
		t.Fatal("a missing binary is available")
	}
	if _, _, err := (Chromium{Path: "/nonexistent/chromium"}).DumpDOM(t.Context(), "x.html"); err == nil {
		t.Fatal("DumpDOM ran a missing binary")
	}
}

// fakeTB records what Need asked of the test.
type fakeTB struct{ fatal, skip string }

func (*fakeTB) Helper()                          {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }
func (f *fakeTB) Skipf(format string, a ...any)  { f.skip = fmt.Sprintf(format, a...) }

// TestNeedFailsUnderCIAndSkipsElsewhere: a missing browser fails a test under CI=true, naming
// how to install it, and elsewhere skips it, saying it did not run.
func TestNeedFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	c := Chromium{Path: filepath.Join(t.TempDir(), "no-chromium")}
	t.Setenv("CI", "true")
	var ci fakeTB
	c.Need(&ci)
	if !strings.Contains(ci.fatal, "apt-get install chromium") || !strings.Contains(ci.fatal, "CHROMIUM_BIN") || ci.skip != "" {
		t.Errorf("under CI: fatal %q, skip %q", ci.fatal, ci.skip)
	}
	t.Setenv("CI", "")
	var laptop fakeTB
	c.Need(&laptop)
	if laptop.fatal != "" || !strings.Contains(laptop.skip, "did not run") {
		t.Errorf("outside CI: fatal %q, skip %q", laptop.fatal, laptop.skip)
	}
}
