package wrangler

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCodeCache runs the real wrangler three times with the code cache: the first run writes
// V8's cache for cli.js, the second uses it as it is (V8 accepted it, or the preload would
// have written it again), and a damaged cache is rejected by V8, replaced, and costs the run
// nothing but a compile. Every build gives the same bundle.
func TestCodeCache(t *testing.T) {
	r := realRunner(t)
	out := t.TempDir()
	build := func() Bundle {
		t.Helper()
		b, err := r.Build(context.Background(), fixtureInvocation(t, "staging"), out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cacheFile := func() (string, os.FileInfo) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(r.CodeCache, "*.v8cache"))
		if len(files) != 1 {
			t.Fatalf("code cache files %v, want one", files)
		}
		fi, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return files[0], fi
	}

	first := build()
	file, fi := cacheFile()
	if fi.Size() < 1<<20 {
		t.Errorf("the cache of a 12 MB CLI holds %d bytes", fi.Size())
	}
	// A rewrite would show as a new modification time; make one possible to see.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	if b := build(); b.SHA256 != first.SHA256 {
		t.Errorf("bundle %s with the cache, %s without", b.SHA256, first.SHA256)
	}
	if _, fi := cacheFile(); !fi.ModTime().Equal(old) {
		t.Errorf("the cache was written again on a run that should have used it (V8 rejected it?)")
	}

	if err := os.WriteFile(file, bytes.Repeat([]byte{0x5a}, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if b := build(); b.SHA256 != first.SHA256 {
		t.Errorf("bundle %s after a damaged cache, want %s", b.SHA256, first.SHA256)
	}
	if _, fi := cacheFile(); fi.Size() < 1<<20 {
		t.Errorf("the damaged cache was not replaced (%d bytes)", fi.Size())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(r.CodeCache, "*.tmp")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestNoCodeCache: without a cache folder nothing is preloaded and nothing is written.
func TestNoCodeCache(t *testing.T) {
	r := realRunner(t)
	dir := r.CodeCache
	r.CodeCache = ""
	if _, err := r.Build(context.Background(), fixtureInvocation(t, "staging"), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s exists: %v", dir, err)
	}
}

// A copy of the checkout links node_modules (tests, CI jobs): node names cli.js by its real
// path, and the cache must still be used.
func TestCodeCacheThroughALinkedNodeModules(t *testing.T) {
	r := realRunner(t)
	link := filepath.Join(t.TempDir(), "node_modules")
	real := filepath.Dir(filepath.Dir(filepath.Dir(r.CLI))) // …/node_modules
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	r.CLI = filepath.Join(link, "wrangler", "wrangler-dist", "cli.js")
	if _, err := r.Build(context.Background(), fixtureInvocation(t, "staging"), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(r.CodeCache, "*.v8cache")); len(files) != 1 {
		t.Fatalf("code cache files %v after a run through a linked node_modules, want one", files)
	}
}
