package ci

import (
	"bytes"
	"context"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// skipDir names folders the gofmt check never enters: dependencies, build output and local
// state hold no code of ours, and walking node_modules alone would cost seconds.
func skipDir(name string) bool {
	return name == "node_modules" || name == "testdata" || (strings.HasPrefix(name, ".") && name != ".")
}

// Unformatted lists the .go files under root (slash paths relative to it) that gofmt would
// change. It formats in-process with go/format, which is gofmt's own printer, so no gofmt
// binary needs to be found.
func Unformatted(ctx context.Context, root string) ([]string, error) {
	var bad []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || !d.Type().IsRegular() {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got, err := format.Source(src)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.ToSlash(rel), err)
		}
		if !bytes.Equal(got, src) {
			bad = append(bad, filepath.ToSlash(rel))
		}
		return nil
	})
	return bad, err
}
