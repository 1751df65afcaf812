package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Holder is what a lock file says about the process holding it.
type Holder struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
	Command   string    `json:"command"`
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d on host %s since %s (%s)", h.PID, h.Host, h.StartedAt.UTC().Format(time.RFC3339), h.Command)
}

// HeldError is returned when another live process holds the lock.
type HeldError struct {
	Tenant, Env string
	Path        string
	Holder      Holder
}

func (e *HeldError) Error() string {
	host, _ := os.Hostname()
	if e.Holder.Host != "" && e.Holder.Host != "unknown" && e.Holder.Host != host {
		return fmt.Sprintf("%s/%s is being deployed by %s, another host; wait for it to finish (if that run is gone for good, remove %s)",
			e.Tenant, e.Env, e.Holder, e.Path)
	}
	return fmt.Sprintf("%s/%s is being deployed by %s; wait for it to finish (its lock ends with the process, however it ends)",
		e.Tenant, e.Env, e.Holder)
}

// Lock is a held lock. Release it when done; Release is safe to call more than once.
type Lock struct {
	Path   string
	Holder Holder
	f      *os.File // holds the kernel lock (flock) for as long as it is open
	team   TeamHold // the team-wide guard taken after the flock; nil when none is set
	once   sync.Once
	err    error
}

// Team is the guard every machine honours, taken right after the local flock and released
// right before it: the lease on the team's git remote (package lease). The local flock stays
// the first guard, so two runs of one checkout never both reach the remote.
type Team interface {
	Take(ctx context.Context, tenant, env, command string) (TeamHold, error)
}

// TeamHold is a held team guard.
type TeamHold interface {
	// Check confirms the guard is still this run's: before each change to Cloudflare.
	Check(ctx context.Context) error
	Release(ctx context.Context) error
	// Note says what guarded the run, for its record ("lease refs/leases/acme/staging id …",
	// "local lock only: …").
	Note() string
}

// ErrTeamHeld is matched (errors.Is) by a team guard's refusal: another machine holds the
// tenant/env. Such a run changed nothing and writes no record: written outside the lease, it
// would fork the team's record chain.
var ErrTeamHeld = errors.New("held by another machine's lease")

var (
	teamMu sync.Mutex
	team   Team
)

// SetTeam makes every later Acquire take t's guard after the flock; nil takes none. The
// command's setup sets it once, so no command that locks a tenant can forget the lease.
func SetTeam(t Team) {
	teamMu.Lock()
	defer teamMu.Unlock()
	team = t
}

func currentTeam() Team {
	teamMu.Lock()
	defer teamMu.Unlock()
	return team
}

// Options tune Acquire; the zero value is right outside tests.
type Options struct {
	// Command describes the holder for whoever is refused ("deploy:tenant acme staging").
	Command string
	// Log receives the warning about a taken-over stale lock.
	Log *slog.Logger
	// Context bounds the team guard's take (its -wait included); nil means Background.
	Context context.Context
	// now, pid and host are replaced in tests.
	now  func() time.Time
	pid  int
	host string
}

// Path is the lock file of tenant/env under dir.
func Path(dir, tenant, env string) string {
	return filepath.Join(dir, tenant+"-"+env+".lock")
}

// Acquire takes the lock of tenant/env in dir (created if needed), or fails at once.
//
// The lock is the kernel's: an exclusive flock on the lock file, held through an open file for
// the whole run. Whatever ends the holder (exit, kill -9, an OOM kill) the kernel drops it when
// the process's files close, which happens before a parent reaps it, so there is no guessing
// from pids: a reused pid cannot keep a dead holder's lock, and a killed but unreaped holder
// does not refuse the rerun. The file's content (pid, host, start, command) only tells whoever
// is refused whom they wait for. A file left by a holder on another host (a shared folder,
// where flock may not reach across machines) is never taken over.
func Acquire(dir, tenant, env string, opt Options) (*Lock, error) {
	if opt.now == nil {
		opt.now = time.Now
	}
	if opt.pid == 0 {
		opt.pid = os.Getpid()
	}
	if opt.host == "" {
		opt.host, _ = os.Hostname()
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s/%s: %w", tenant, env, err)
	}
	path := Path(dir, tenant, env)
	me := Holder{PID: opt.pid, Host: opt.host, StartedAt: opt.now().UTC(), Command: opt.Command}
	// A few rounds: a round is lost when the file was released (removed) between our open and
	// our flock, so that the lock we got is on a file nobody else will ever open.
	for range 5 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s/%s: %w", tenant, env, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			held := readHolder(f)
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &HeldError{Tenant: tenant, Env: env, Path: path, Holder: held}
			}
			return nil, fmt.Errorf("lock %s/%s: flock %s: %w", tenant, env, path, err)
		}
		if !samePath(f, path) {
			_ = f.Close()
			continue
		}
		prev := readHolder(f)
		if prev.PID > 0 && prev.Host != "" && prev.Host != opt.host {
			_ = f.Close()
			return nil, &HeldError{Tenant: tenant, Env: env, Path: path, Holder: prev}
		}
		if err := write(f, me); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s/%s: %w", tenant, env, err)
		}
		if prev.PID > 0 {
			opt.Log.Warn("took over a stale deploy lock", "tenant", tenant, "env", env, "path", path,
				"reason", fmt.Sprintf("holder pid %d (started %s) is no longer running: the kernel released its lock", prev.PID, prev.StartedAt.UTC().Format(time.RFC3339)))
		}
		l := &Lock{Path: path, Holder: me, f: f}
		if t := currentTeam(); t != nil {
			ctx := opt.Context
			if ctx == nil {
				ctx = context.Background()
			}
			h, err := t.Take(ctx, tenant, env, opt.Command)
			if err != nil {
				_ = l.Release()
				return nil, err
			}
			l.team = h
		}
		return l, nil
	}
	return nil, fmt.Errorf("lock %s/%s: could not take %s; try again", tenant, env, path)
}

// samePath reports whether path still names the file f has open.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// readHolder reads the holder from the start of f; the zero Holder, with Command saying so,
// when the file is empty or being written.
func readHolder(f *os.File) Holder {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	var h Holder
	if json.Unmarshal(b[:n], &h) != nil || h.PID <= 0 {
		return Holder{Host: "unknown", StartedAt: time.Now(), Command: "lock file being written"}
	}
	return h
}

func write(f *os.File, h Holder) error {
	b, _ := json.MarshalIndent(h, "", "  ")
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	return f.Sync()
}

// Release removes the lock file, then drops the kernel lock. Calling it again does nothing.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.once.Do(func() {
		if l.team != nil {
			// A release that must not hang on a remote that stopped answering: the lease
			// then expires by itself.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			l.err = l.team.Release(ctx)
			cancel()
		}
		// Removed while still locked: anyone who opened it meanwhile finds, once they get the
		// flock, that the path no longer names their file, and starts over.
		if samePath(l.f, l.Path) {
			if err := os.Remove(l.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.err = errors.Join(l.err, fmt.Errorf("releasing lock: %w (remove %s by hand)", err, l.Path))
			}
		}
		if err := l.f.Close(); err != nil {
			l.err = errors.Join(l.err, fmt.Errorf("releasing lock %s: %w", l.Path, err))
		}
	})
	return l.err
}

// Check confirms the run still holds what guards it: the local flock is held until Release,
// so this asks the team guard, if there is one. Call it before each change to Cloudflare.
func (l *Lock) Check(ctx context.Context) error {
	if l == nil || l.team == nil {
		return nil
	}
	return l.team.Check(ctx)
}

// Note says what guarded the run, for its record: the team guard's note, or that only this
// machine's lock did ("" when no team guard is set at all).
func (l *Lock) Note() string {
	if l == nil || l.team == nil {
		return ""
	}
	return l.team.Note()
}
