package lock

import (
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
	return fmt.Sprintf("%s/%s is being deployed by %s; wait for it to finish (if that process is gone for good, remove %s)",
		e.Tenant, e.Env, e.Holder, e.Path)
}

// Lock is a held lock. Release it when done; Release is safe to call more than once.
type Lock struct {
	Path   string
	Holder Holder
	once   sync.Once
	err    error
}

// Options tune Acquire; the zero value is right outside tests.
type Options struct {
	// Command describes the holder for whoever is refused ("deploy:tenant acme staging").
	Command string
	// Log receives the warning about a taken-over stale lock.
	Log *slog.Logger
	// now, pid and host are replaced in tests.
	now  func() time.Time
	pid  int
	host string
}

// unreadableGrace is how long a lock file may stay empty or half-written before it counts as
// abandoned: the holder writes it within microseconds of creating it.
const unreadableGrace = 10 * time.Second

// Path is the lock file of tenant/env under dir.
func Path(dir, tenant, env string) string {
	return filepath.Join(dir, tenant+"-"+env+".lock")
}

// Acquire takes the lock of tenant/env in dir (created if needed), or fails at once.
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
	// Two rounds: the second follows a takeover of a stale lock.
	for range 2 {
		err := create(path, me)
		if err == nil {
			return &Lock{Path: path, Holder: me}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s/%s: %w", tenant, env, err)
		}
		held, stale, why := inspect(path, opt)
		if !stale {
			if held == nil { // vanished between create and read: try again
				continue
			}
			return nil, &HeldError{Tenant: tenant, Env: env, Path: path, Holder: *held}
		}
		if err := takeOver(path, held, opt); err != nil {
			if errors.Is(err, errBusy) {
				continue
			}
			return nil, fmt.Errorf("lock %s/%s: taking over a stale lock: %w", tenant, env, err)
		}
		opt.Log.Warn("took over a stale deploy lock", "tenant", tenant, "env", env, "path", path, "reason", why)
	}
	// Someone else won every race; report whoever holds it now.
	if held, _, _ := inspect(path, opt); held != nil {
		return nil, &HeldError{Tenant: tenant, Env: env, Path: path, Holder: *held}
	}
	return nil, fmt.Errorf("lock %s/%s: could not take %s; try again", tenant, env, path)
}

var errBusy = errors.New("another process is taking the lock over")

func create(path string, h Holder) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(h, "", "  ")
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// inspect reads the lock file. It returns the holder (nil when the file is gone or unreadable),
// whether the lock is abandoned, and why.
func inspect(path string, opt Options) (*Holder, bool, string) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, ""
	}
	var h Holder
	if err != nil || json.Unmarshal(b, &h) != nil || h.PID <= 0 {
		st, serr := os.Stat(path)
		if serr == nil && opt.now().Sub(st.ModTime()) > unreadableGrace {
			return &Holder{Host: "unknown", StartedAt: st.ModTime(), Command: "unreadable lock file"}, true, "lock file unreadable for more than " + unreadableGrace.String()
		}
		return &Holder{Host: "unknown", StartedAt: opt.now(), Command: "lock being written"}, false, ""
	}
	if h.Host == opt.host && !alive(h.PID) {
		return &h, true, fmt.Sprintf("holder pid %d is no longer running on this host (it started %s)", h.PID, h.StartedAt.UTC().Format(time.RFC3339))
	}
	return &h, false, ""
}

// alive reports whether pid is a running process on this host. EPERM means it exists but
// belongs to someone else: still alive.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// takeOver removes a stale lock file so that create can be retried. A side file taken with
// O_EXCL makes sure that only one of several racing processes removes it, and that it removes
// the stale file it inspected, not a fresh lock that a faster racer just created.
func takeOver(path string, stale *Holder, opt Options) error {
	side := path + ".takeover"
	f, err := os.OpenFile(side, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			if st, serr := os.Stat(side); serr == nil && opt.now().Sub(st.ModTime()) > unreadableGrace {
				_ = os.Remove(side) // left by a process that died mid-takeover
			}
			return errBusy
		}
		return err
	}
	_ = f.Close()
	defer os.Remove(side)
	now, _, _ := inspect(path, opt)
	if now == nil {
		return nil // already gone
	}
	if now.PID != stale.PID || !now.StartedAt.Equal(stale.StartedAt) {
		return errBusy // replaced meanwhile by a live holder
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Release removes the lock file if it is still ours. Calling it again does nothing.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	l.once.Do(func() {
		b, err := os.ReadFile(l.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		var h Holder
		if err == nil && json.Unmarshal(b, &h) == nil && (h.PID != l.Holder.PID || !h.StartedAt.Equal(l.Holder.StartedAt)) {
			l.err = fmt.Errorf("lock %s: now held by %s, not by us; left in place", l.Path, h)
			return
		}
		if err := os.Remove(l.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.err = fmt.Errorf("releasing lock: %w (remove %s by hand)", err, l.Path)
		}
	})
	return l.err
}
