package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Limits on what is read: Cloudflare caps a secret at 5 KiB; a sync file of many secrets is
// still small. Anything larger is a mistake (a bundle piped in, the wrong file).
const (
	maxValue    = 64 << 10
	maxSyncFile = 1 << 20
)

// Options is what every secrets command shares.
type Options struct {
	Workspace workspace.Workspace
	Log       *slog.Logger
	// Access reaches the API; nil means preflight.AccessFor (sandbox, CLOUDFLARE_API_BASE_URL
	// or Cloudflare, with its banner on Stderr).
	Access *preflight.Access
	// Stderr receives the sandbox banner; the caller renders the results (WriteList,
	// Outcome.Write) on stdout.
	Stderr io.Writer
	// Lookup reads the process environment (tokens, CI identity); nil means os.LookupEnv.
	Lookup func(string) (string, bool)
}

func (o Options) access(ctx context.Context) (preflight.Access, error) {
	if o.Access != nil {
		return *o.Access, nil
	}
	a, err := preflight.AccessFor(ctx, o.Workspace, o.Log, o.Stderr)
	a.Lookup = o.Lookup
	return a, err
}

// devRefusal is why the secrets commands refuse dev: its secrets live in .dev.vars on this
// machine, not on Cloudflare.
const devRefusal = "; its secrets go in the tenant's .dev.vars, not on Cloudflare; use staging or production"

// ListCommand is secrets:list: the names on each Worker, required ones marked, missing ones
// flagged. target is one tenant or tenant.All, for tenant.Select; the env was parsed by the
// caller, and dev is refused here. A Worker that could not be read has its error in its
// Listing (AllOK is then false, as it is when a required secret is missing); the error is for
// a refused request.
func ListCommand(ctx context.Context, o Options, target string, e tenant.Env) ([]Listing, error) {
	if err := e.RequireCloud(devRefusal); err != nil {
		return nil, fmt.Errorf("secrets:list: %w", err)
	}
	ws := o.Workspace
	names, err := tenant.Select(ws, target)
	if err != nil {
		return nil, fmt.Errorf("secrets:list: %w", err)
	}
	a, err := o.access(ctx)
	if err != nil {
		return nil, fmt.Errorf("secrets:list %s: %w", e, err)
	}
	out := make([]Listing, len(names))
	done := make(chan struct{})
	for i, n := range names {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = listOne(ctx, a, n, e)
		}()
	}
	for range names {
		<-done
	}
	return out, nil
}

// AllOK reports whether every Worker was read and has every required secret set.
func AllOK(ls []Listing) bool {
	return !slices.ContainsFunc(ls, func(l Listing) bool { return !l.OK() })
}

// WriteList renders secrets:list: one table row per secret (coloured when colour is set), or
// with asJSON one document.
func WriteList(w io.Writer, ls []Listing, asJSON, colour bool) error {
	if asJSON {
		return report.JSON(w, ls)
	}
	return listTable(ls).Text(w, colour)
}

func listOne(ctx context.Context, a preflight.Access, name string, env tenant.Env) Listing {
	l := Listing{Tenant: name, Env: string(env), Entries: []Entry{}, Missing: []string{}}
	t, err := preflight.TargetFor(ctx, a.Workspace, name, env)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	api, err := a.Client(name, t.Resolved.AccountID)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	got, err := List(ctx, api, t.Resolved.WorkerName, t.RequiredSecrets)
	got.Tenant, got.Env = name, string(env)
	if err != nil {
		got.Error = err.Error()
	}
	return got
}

func listTable(ls []Listing) report.Table {
	t := report.Table{Title: "secrets", Columns: []string{"tenant", "worker", "secret", "required", "status"}}
	for _, l := range ls {
		who := l.Tenant + "/" + l.Env
		if l.Error != "" {
			t.AddRow(report.Cell{Text: who}, report.Cell{Text: l.Worker}, report.Cell{Text: "-"}, report.Cell{},
				report.Cell{Text: "ERROR " + l.Error, Tone: report.Bad})
			continue
		}
		for _, e := range l.Entries {
			status, tone := "set", report.Good
			switch {
			case !e.Set && !l.Exists:
				status, tone = "MISSING (the Worker is not deployed yet)", report.Bad
			case !e.Set:
				status, tone = fmt.Sprintf("MISSING: go tool mage secrets:put %s %s %s", l.Tenant, l.Env, e.Name), report.Bad
			case !e.Required:
				status, tone = "set (not in required_secrets)", report.Calm
			}
			req := "no"
			if e.Required {
				req = "yes"
			}
			t.AddRow(report.Cell{Text: who}, report.Cell{Text: l.Worker}, report.Cell{Text: e.Name}, report.Cell{Text: req},
				report.Cell{Text: status, Tone: tone})
		}
		if len(l.Entries) == 0 {
			t.AddRow(report.Cell{Text: who}, report.Cell{Text: l.Worker}, report.Cell{Text: "-"}, report.Cell{}, report.Cell{Text: "no secrets, none required", Tone: report.Calm})
		}
	}
	return t
}

// Outcome is what secrets:put or secrets:sync did, for output.
type Outcome struct {
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Worker string `json:"worker"`
	Result
	Record string `json:"record,omitempty"`
}

// ReadValue reads one secret value from r (stdin): never from a terminal, where it would be
// echoed and kept in the scroll-back; at most maxValue bytes; one trailing newline removed
// (so `echo value |` and `printf value |` set the same).
func ReadValue(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return "", errors.New("the value is read from stdin, and stdin is a terminal; pipe it in, e.g. `printf %s \"$VALUE\" | go tool mage secrets:put <tenant> <env> <NAME>` or `< value-file`")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxValue+1))
	if err != nil {
		return "", fmt.Errorf("reading the value from stdin: %w", err)
	}
	if len(b) > maxValue {
		return "", fmt.Errorf("the value on stdin is over %d KiB; Cloudflare caps a secret at 5 KiB", maxValue>>10)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", errors.New("the value on stdin is empty; an empty secret is almost always a mistake (an unset variable)")
	}
	return v, nil
}

// PutCommand is secrets:put: one secret, value from stdin. The tenant name and env were
// parsed by the caller; dev is refused here.
func PutCommand(ctx context.Context, o Options, tenantName tenant.Name, e tenant.Env, name string, stdin io.Reader, extra bool) (Outcome, error) {
	t, err := target(ctx, o, "secrets:put", tenantName, e)
	if err != nil {
		return Outcome{}, err
	}
	if err := CheckNames([]string{name}, t.RequiredSecrets, extra, configRel(tenantName)); err != nil {
		return Outcome{}, fmt.Errorf("secrets:put %s/%s: %w", tenantName, e, err)
	}
	v, err := ReadValue(stdin)
	if err != nil {
		return Outcome{}, fmt.Errorf("secrets:put %s/%s %s: %w", tenantName, e, name, err)
	}
	return apply(ctx, o, "secrets:put", t, []Value{{Name: name, Value: v}})
}

// SyncCommand is secrets:sync: every secret in a JSON file of name -> value, for bulk. The
// tenant name and env were parsed by the caller; dev is refused here.
func SyncCommand(ctx context.Context, o Options, tenantName tenant.Name, e tenant.Env, from string, extra bool) (Outcome, error) {
	t, err := target(ctx, o, "secrets:sync", tenantName, e)
	if err != nil {
		return Outcome{}, err
	}
	vals, err := ReadSyncFile(ctx, o.Workspace.Root, from)
	if err != nil {
		return Outcome{}, fmt.Errorf("secrets:sync %s/%s: %w", tenantName, e, err)
	}
	names := make([]string, len(vals))
	for i, v := range vals {
		names[i] = v.Name
	}
	if err := CheckNames(names, t.RequiredSecrets, extra, configRel(tenantName)); err != nil {
		return Outcome{}, fmt.Errorf("secrets:sync %s/%s: %s: %w", tenantName, e, from, err)
	}
	return apply(ctx, o, "secrets:sync", t, vals)
}

// ReadSyncFile reads a JSON object of name -> non-empty string from path, which must not be
// tracked by git (a committed secret is leaked for good, whatever is deleted later). Links are
// resolved before git is asked: a symbolic link is judged by its target, and a file with
// another hard link is refused (the other name may be tracked). A file inside the work tree
// must be ignored by git, or one `git add .` commits it. Duplicate names, data after the
// object and a value over the cap stdin has are refused.
func ReadSyncFile(ctx context.Context, root, path string) ([]Value, error) {
	if path == "" {
		return nil, errors.New("-from=<file> is required: a JSON object of name -> value, kept outside git")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if tracked(ctx, root, abs) || tracked(ctx, root, real) {
		return nil, fmt.Errorf("%s is tracked by git; secrets must never be committed: move it out of the repository (or `git rm --cached` it and rotate every value in it)", describeLink(path, abs, real))
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxSyncFile {
		return nil, fmt.Errorf("%s is not a regular file of at most %d KiB", path, maxSyncFile>>10)
	}
	if n := hardLinks(st); n > 1 {
		return nil, fmt.Errorf("%s has %d hard links: another name of the same file may be tracked by git; copy the values into a file of its own outside the repository", path, n)
	}
	if rootReal, err := filepath.EvalSymlinks(root); err == nil && inside(rootReal, real) && !ignored(ctx, root, real) {
		return nil, fmt.Errorf("%s is inside the work tree and git does not ignore it, so one `git add .` would commit it: move it out of the repository, or add it to .gitignore", describeLink(path, abs, real))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSyncFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return parseSyncJSON(path, b)
}

// parseSyncJSON reads one JSON object of name -> string, refusing duplicate names, data after
// the object, and values that are empty, not strings or over maxValue. Its errors give places,
// never the file's bytes.
func parseSyncJSON(path string, b []byte) ([]Value, error) {
	notObject := func(err error) error {
		// The decoder's message can quote the file's bytes: keep only the place.
		return fmt.Errorf("%s is not a JSON object of name -> value (like {\"API_KEY\": \"...\"})%s", path, offset(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, notObject(err)
	}
	seen := map[string]bool{}
	var out []Value
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject(err)
		}
		n, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notObject(err)
		}
		if seen[n] {
			return nil, fmt.Errorf("%s: %s appears twice; keep one (JSON would silently take the last)", path, n)
		}
		seen[n] = true
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: the value of %s is not a string", path, n)
		}
		if v == "" {
			return nil, fmt.Errorf("%s: the value of %s is empty; an empty secret is almost always a mistake", path, n)
		}
		if len(v) > maxValue {
			return nil, fmt.Errorf("%s: the value of %s is over %d KiB; Cloudflare caps a secret at 5 KiB", path, n, maxValue>>10)
		}
		out = append(out, Value{Name: n, Value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, notObject(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s holds more after its JSON object (at byte %d); keep one object in the file", path, dec.InputOffset())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no secrets", path)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// describeLink names path, and its target when it is a symbolic link.
func describeLink(path, abs, real string) string {
	if abs == real {
		return path
	}
	return path + " (a link to " + real + ")"
}

// inside reports whether path is root or below it.
func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// ignored reports whether git ignores path in the repository at root.
func ignored(ctx context.Context, root, path string) bool {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "check-ignore", "-q", "--", path)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	return cmd.Run() == nil
}

func offset(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf(" (syntax error at byte %d)", se.Offset)
	}
	return ""
}

// tracked reports whether git tracks path in the repository at root.
func tracked(ctx context.Context, root, path string) bool {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "--error-unmatch", "--", path)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	return cmd.Run() == nil
}

func configRel(name tenant.Name) string {
	return filepath.ToSlash(filepath.Join("tenants", string(name), "tenant.config.json"))
}

// target refuses dev and a tenant without a folder (the error lists the tenants there are),
// then loads the tenant's target in e.
func target(ctx context.Context, o Options, cmd string, name tenant.Name, e tenant.Env) (preflight.Target, error) {
	if err := e.RequireCloud(devRefusal); err != nil {
		return preflight.Target{}, fmt.Errorf("%s: %w", cmd, err)
	}
	if err := tenant.Check(o.Workspace, string(name)); err != nil {
		return preflight.Target{}, fmt.Errorf("%s: %w", cmd, err)
	}
	t, err := preflight.TargetFor(ctx, o.Workspace, string(name), e)
	if err != nil {
		return preflight.Target{}, fmt.Errorf("%s %s/%s: %w", cmd, name, e, err)
	}
	return t, nil
}

// apply sets the values in the tenant's own account as an attempt like a deploy's: under the
// tenant/env's lock (lock.Acquire, the deploy's own call), with the reservation a killed run
// left settled first, its own record reserved before the first write and each secret's name
// written into the reservation before it is set (write ahead), and a record (names only)
// whatever the end. A kill -9 leaves the reservation, which the next command of this
// tenant/env turns into an interrupted record.
func apply(ctx context.Context, o Options, cmd string, t preflight.Target, vals []Value) (Outcome, error) {
	r := t.Resolved
	env := string(r.Env)
	out := Outcome{Tenant: t.Tenant, Env: env, Worker: r.WorkerName}
	fail := func(err error) (Outcome, error) { return out, fmt.Errorf("%s %s/%s: %w", cmd, t.Tenant, env, err) }
	a, err := o.access(ctx)
	if err != nil {
		return fail(err)
	}
	api, err := a.Client(t.Tenant, r.AccountID)
	if err != nil {
		return fail(err)
	}
	held, err := lock.Acquire(o.Workspace.LocksDir(), t.Tenant, env, lock.Options{Command: cmd + " " + t.Tenant + " " + env, Log: o.Log})
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := held.Release(); err != nil && o.Log != nil {
			o.Log.Warn("releasing the lock", "tenant", t.Tenant, "env", env, "err", err)
		}
	}()
	scrub := make([]string, 0, len(vals))
	names := make([]string, 0, len(vals))
	for _, v := range vals {
		scrub = append(scrub, v.Value)
		names = append(names, v.Name)
	}
	var live []string
	d, err := api.LiveDeployment(ctx, r.WorkerName)
	switch {
	case err == nil:
		live = d.VersionIDs()
	case errors.Is(err, cfapi.ErrNotDeployed), errors.Is(err, cfapi.ErrNotFound):
	default:
		return fail(fmt.Errorf("reading the live deployment of %s; nothing was set: %w", r.WorkerName, err))
	}
	store := history.Open(o.Workspace.DeploymentsDir())
	settled, ok, err := store.SettleSplit(t.Tenant, env, live, scrub...)
	if err != nil {
		return fail(&history.WritableError{Dir: store.Dir, Err: err})
	}
	if ok && o.Stderr != nil {
		fmt.Fprintf(o.Stderr, "%s %s/%s: the previous attempt (%s, pid %d on %s) was killed before it finished; recorded it as interrupted in %s\n",
			cmd, t.Tenant, env, orUnknown(settled.Reservation.Command), settled.Reservation.PID, settled.Reservation.Host, settled.File)
	}
	p := history.Find(ctx, o.Workspace.Root, history.Lookup(o.Lookup))
	rec := history.Record{
		Kind: history.KindSecrets, Tenant: t.Tenant, Env: env, WorkerName: r.WorkerName, AccountID: r.AccountID,
		Actor: p.Actor, GitSHA: p.GitSHA, GitDirty: p.GitDirty, PreviousVersionID: d.Primary().VersionID,
		SecretsChanged: []string{}, Reason: cmd, StartedAt: time.Now().UTC(),
	}
	host, _ := os.Hostname()
	att, err := store.Reserve(os.Getpid(), host, cmd+" "+t.Tenant+" "+env+" "+strings.Join(names, ","), rec, scrub...)
	if err != nil {
		return fail(err) // a *history.WritableError: nothing was set
	}
	res, perr := PutAhead(ctx, api, r.WorkerName, vals, func(next string, so Result) {
		rec.VersionID, rec.SecretsChanged = so.VersionID, append([]string{}, so.Changed...)
		if err := att.Intend(rec, next); err != nil && o.Log != nil {
			o.Log.Warn("could not update the reserved record before a change", "tenant", t.Tenant, "env", env, "err", err)
		}
	})
	out.Result = res
	if perr != nil && errors.Is(perr, ErrNoWorker) {
		// Nothing was attempted on Cloudflare: no record, as for a refused request.
		_ = att.Done()
		return fail(perr) // names only: no value in it
	}
	rec.PreviousVersionID, rec.VersionID = res.PreviousVersionID, res.VersionID
	rec.Status, rec.SecretsChanged = history.StatusSucceeded, res.Changed
	if rec.SecretsChanged == nil {
		rec.SecretsChanged = []string{}
	}
	if perr != nil {
		rec.Status, rec.Error = history.StatusFailed, scrubbed(perr.Error(), scrub)
	}
	rec.FinishedAt = time.Now().UTC()
	// The ending into the reservation (in the space it holds), then that space to the record:
	// a record that still cannot be written is written by the next run as it ended.
	if err := att.Update(rec); err != nil && o.Log != nil {
		o.Log.Error("could not keep this attempt's ending in its reservation", "tenant", t.Tenant, "env", env, "version", rec.VersionID, "err", err)
	}
	if err := att.Free(); err != nil && o.Log != nil {
		o.Log.Warn("could not free the reservation's space for the record", "err", err)
	}
	entry, werr := store.Write(rec, scrub...)
	if rel, err := filepath.Rel(o.Workspace.Root, entry.Path); err == nil && entry.Path != "" {
		out.Record = rel
	}
	if werr == nil {
		if err := att.Done(); err != nil && o.Log != nil {
			o.Log.Warn("could not remove the reserved record; the next run will record the attempt twice", "err", err)
		}
	} else {
		werr = fmt.Errorf("%w; the attempt stays reserved in %s and the next command of %s/%s records it", werr,
			history.AttemptPath(store.Dir, t.Tenant, env), t.Tenant, env)
	}
	if perr != nil {
		return out, errors.Join(fmt.Errorf("%s %s/%s: %s (set before the failure: %s)", cmd, t.Tenant, env, rec.Error, orNone(res.Changed)), werr)
	}
	if werr != nil {
		return out, fmt.Errorf("%s %s/%s: secrets set, but the record was not written: %w", cmd, t.Tenant, env, werr)
	}
	return out, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown command"
	}
	return s
}

// Write renders what a put or sync did: its Text line, or with asJSON the outcome document.
func (o Outcome) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		return report.JSON(w, o)
	}
	_, err := fmt.Fprintln(w, o.Text())
	return err
}

// Text is the one line a put or sync ends with.
func (o Outcome) Text() string {
	s := fmt.Sprintf("%s/%s: set %s on %s; ", o.Tenant, o.Env, strings.Join(o.Changed, ", "), o.Worker)
	if o.NewVersion {
		s += fmt.Sprintf("Cloudflare created and deployed a new version %s (was %s): live now", o.VersionID, o.PreviousVersionID)
	} else {
		s += fmt.Sprintf("no new version (%s stays live)", o.VersionID)
	}
	if o.Record != "" {
		s += "; record " + o.Record
	}
	return s
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func scrubbed(msg string, values []string) string {
	for _, v := range values {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "[REDACTED]")
		}
	}
	return msg
}
