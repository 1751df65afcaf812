package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/gitrun"
)

// State is what a lease's content says about it.
type State string

const (
	Held     State = "held"
	Released State = "released"
	Broken   State = "broken"
)

// Holder is who holds (or held) a lease.
type Holder struct {
	ID      string `json:"id"` // random, per take: lease:break -id names it so nobody breaks the wrong lease
	Who     string `json:"who"`
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	Command string `json:"command"`
	Commit  string `json:"commit,omitempty"`
	RunURL  string `json:"run_url,omitempty"` // the CI run, when there is one
}

func (h Holder) String() string {
	s := fmt.Sprintf("%s on %s (pid %d, %s", h.Who, h.Host, h.PID, h.Command)
	if h.Commit != "" {
		s += ", commit " + short(h.Commit)
	}
	if h.RunURL != "" {
		s += ", " + h.RunURL
	}
	return s + ", lease id " + h.ID + ")"
}

// Content is the lease as it is kept on the remote.
type Content struct {
	State  State  `json:"state"`
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Holder Holder `json:"holder"`
	// TakenAt and RenewedAt are the holder's clock: for people to read, never to judge expiry.
	TakenAt   time.Time `json:"taken_at"`
	RenewedAt time.Time `json:"renewed_at"`
	Renewals  int       `json:"renewals"`
	// TTL is how long a reader waits, from when it first sees this content unchanged, before
	// it may break the lease.
	TTL Duration `json:"ttl"`
	// Replaced is the holder whose lease this content broke or took over, when it did.
	Replaced *Holder `json:"replaced,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// Duration is a time.Duration kept as "10m0s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}

// ErrUnreachable is wrapped by every error that comes from not reaching the remote at all
// (as opposed to the remote refusing a change).
var ErrUnreachable = errors.New("the lease remote cannot be reached")

// errLost is a compare-and-swap the remote refused: the ref no longer held what we read.
var errLost = errors.New("the lease changed on the remote since it was read")

// remote is one git remote of one checkout, with the ref namespace of real deploys or of
// rehearsals.
type remote struct {
	repo, name, ns string
}

func (r remote) ref(tenant, env string) string { return r.ns + "/" + tenant + "/" + env }

// lsRemote lists the refs matching pattern on the remote: ref -> oid.
func (r remote) lsRemote(ctx context.Context, pattern string) (map[string]string, error) {
	out, err := gitrun.Run(ctx, r.repo, nil, nil, "ls-remote", r.name, pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	refs := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		oid, ref, ok := strings.Cut(line, "\t")
		if ok {
			refs[ref] = oid
		}
	}
	return refs, nil
}

// content reads the lease content of oid, fetching ref first when the object is not here.
func (r remote) content(ctx context.Context, ref, oid string) (Content, error) {
	if _, err := gitrun.Run(ctx, r.repo, nil, nil, "cat-file", "-e", oid+"^{commit}"); err != nil {
		if _, err := gitrun.Run(ctx, r.repo, nil, nil, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", r.name, ref); err != nil {
			return Content{}, fmt.Errorf("%w: fetching %s: %w", ErrUnreachable, ref, err)
		}
	}
	msg, err := gitrun.Run(ctx, r.repo, nil, nil, "log", "-1", "--format=%B", oid)
	if err != nil {
		return Content{}, fmt.Errorf("reading lease %s (%s): %w", ref, short(oid), err)
	}
	var c Content
	if err := json.Unmarshal([]byte(msg), &c); err != nil {
		return Content{}, fmt.Errorf("lease %s (%s) is not a lease this tool wrote: %w", ref, short(oid), err)
	}
	return c, nil
}

// write makes a commit holding c and returns its oid (nothing is pushed).
func (r remote) write(ctx context.Context, c Content) (string, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	tree, err := gitrun.Run(ctx, r.repo, nil, []byte{}, "hash-object", "-t", "tree", "-w", "--stdin")
	if err != nil {
		return "", fmt.Errorf("lease: %w", err)
	}
	oid, err := gitrun.Run(ctx, r.repo, nil, b, "commit-tree", tree, "-F", "-")
	if err != nil {
		return "", fmt.Errorf("lease: %w", err)
	}
	return oid, nil
}

// cas points ref at newOID ("" deletes it) only if the remote's ref is oldOID ("" = must not
// exist): one atomic ref update on the server. errLost when the remote held something else.
func (r remote) cas(ctx context.Context, ref, oldOID, newOID string) error {
	args := []string{"push", "--porcelain", "--no-verify", "--force-with-lease=" + ref + ":" + oldOID, r.name, newOID + ":" + ref}
	out, err := gitrun.Run(ctx, r.repo, nil, nil, args...)
	if err == nil {
		return nil
	}
	var ge *gitrun.Error
	if errors.As(err, &ge) {
		out = ge.Stdout
	}
	// --porcelain prints "!\t<src>:<dst>\t[rejected] …" for a refused ref; without such a
	// line the push never reached a verdict (no connection, no permission).
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "!") && strings.Contains(line, ref) {
			return errLost
		}
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}
