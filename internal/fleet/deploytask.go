package fleet

import (
	"bufio"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
)

// DeployTask runs the full deploy:tenant pipeline (its own token, lock, record and
// rollback) for each tenant, with base as the shared options; base.Env is the fleet's env.
// Each pipeline step becomes one progress note, and the tenant's wrangler output stays in
// its own run folder, whose log is shown at the end if the tenant fails.
func DeployTask(base deploy.Options) Task {
	return func(ctx context.Context, tenantName string, note Note) Outcome {
		opts := base
		opts.Tenant = tenantName
		opts.Command = "deploy:all " + base.Env + " (" + tenantName + ")"
		steps := newLineNotes(note, "deploy "+tenantName+"/")
		opts.Progress = steps
		start := time.Now()
		out, err := deploy.Run(ctx, opts)
		steps.Close()
		rec := out.Record
		o := Outcome{
			Tenant: tenantName, Status: Status(rec.Status), Version: rec.VersionID, URL: rec.URL,
			Duration: time.Since(start), RecordPath: out.RecordFile, Error: rec.Error,
		}
		if out.RunDir != "" {
			o.LogPath = filepath.Join(out.RunDir, "wrangler.log")
		}
		if err != nil && (o.Error == "" || !errors.Is(err, deploy.ErrFailed)) {
			o.Error = err.Error()
		}
		switch {
		case o.Status == "" && err == nil:
			o.Status = Succeeded
		case o.Status == "" || (err != nil && o.Status.OK()):
			// No record was written (the tenant did not resolve) or writing it failed.
			o.Status = Failed
		}
		return o
	}
}

// lineNotes turns the deploy pipeline's progress lines ("deploy acme/staging: build ok 1.2s")
// into notes, dropping the prefix that the fleet's own tenant column already shows.
type lineNotes struct {
	mu     sync.Mutex
	pw     *io.PipeWriter
	done   chan struct{}
	prefix string
}

func newLineNotes(note Note, prefix string) *lineNotes {
	pr, pw := io.Pipe()
	ln := &lineNotes{pw: pw, done: make(chan struct{}), prefix: prefix}
	go func() {
		defer close(ln.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if strings.HasPrefix(line, prefix) {
				if _, rest, ok := strings.Cut(line, ": "); ok {
					line = rest
				}
			}
			name, detail, _ := strings.Cut(line, " ")
			note(name, strings.Join(strings.Fields(detail), " "))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return ln
}

func (l *lineNotes) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pw.Write(p)
}

// Close flushes the last lines and waits until they are noted.
func (l *lineNotes) Close() {
	l.mu.Lock()
	_ = l.pw.Close()
	l.mu.Unlock()
	<-l.done
}
