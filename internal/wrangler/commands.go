package wrangler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
)

// DeployResult is what `wrangler deploy` reported in its ND-JSON deploy entry.
type DeployResult struct {
	WorkerName string
	// WorkerTag is the script's tag; "" on a first deploy (wrangler learns it only from the
	// services lookup that finds an existing Worker).
	WorkerTag string
	// VersionID is the version now serving 100% of traffic.
	VersionID string
	// Targets are where it serves: workers.dev URL, routes, "schedule: <cron>".
	Targets []string
}

// uploadedLine is printed by deploy once the new version is live, before the triggers.
var uploadedLine = regexp.MustCompile(`(?m)^Uploaded (\S+) \(`)

// versionLine carries the version id at the end of a deploy.
var versionLine = regexp.MustCompile(`(?m)^Current Version ID: ([0-9a-fA-F-]{32,36})\s*$`)

// Deploy runs `wrangler deploy` for inv's config and environment. wrangler 4.63.0's deploy
// takes no message. On failure the error is a *CommandError whose Uploaded field says whether
// the new version had gone live first (a failing trigger step), so the caller knows to roll
// back; when ctx ends first it is an *InterruptedError saying the same.
func (r Runner) Deploy(ctx context.Context, inv Invocation) (DeployResult, error) {
	res, err := r.exec(ctx, inv, "deploy", append([]string{"deploy", noProvision}, uploadArgs(inv)...), "")
	if err != nil {
		return DeployResult{}, deployFailure(ctx, res, err)
	}
	var d deployEntry
	ok, err := res.Entries.last("deploy", &d)
	if err != nil {
		return DeployResult{}, fmt.Errorf("wrangler deploy: %w", err)
	}
	if !ok {
		return DeployResult{}, fmt.Errorf("wrangler deploy: wrangler exited 0 but wrote no deploy entry to its output file; check the Worker's state with `wrangler deployments list`")
	}
	if d.NameOverridden {
		return DeployResult{}, fmt.Errorf("wrangler deploy: wrangler overrode the Worker name (%s); WRANGLER_CI_OVERRIDE_NAME must never reach a tenant's run", d.WorkerName)
	}
	out := DeployResult{WorkerName: d.WorkerName, WorkerTag: deref(d.WorkerTag), VersionID: deref(d.VersionID), Targets: d.Targets}
	if out.VersionID == "" {
		// The API answered without a version id (wrangler prints "undefined"): the upload
		// happened, but nobody can tell what is live without asking the API.
		return out, &CommandError{Command: "deploy", Message: "wrangler reported no version id for the upload", Uploaded: true, Stderr: tail(res.Stderr, 12)}
	}
	return out, nil
}

// deployFailure adds to a failed deploy's error how far wrangler got: whether the new version
// had gone live ("Uploaded <worker>" on stdout) and its id if printed. A non-zero exit is a
// *CommandError, an ended ctx or the Runner's timeout an *InterruptedError.
func deployFailure(ctx context.Context, res *Result, err error) error {
	if res == nil {
		return err
	}
	uploaded, version := uploadedLine.MatchString(res.Stdout), ""
	if m := versionLine.FindStringSubmatch(res.Stdout); m != nil {
		version = m[1]
	}
	if ce, ok := errors.AsType[*CommandError](err); ok {
		ce.Uploaded, ce.VersionID = uploaded, version
		return ce
	}
	// The caller's ctx, or the Runner's own timeout (which the caller's ctx does not see).
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &InterruptedError{Command: "deploy", Uploaded: uploaded, VersionID: version, Err: err}
	}
	return err
}

// validID accepts Cloudflare version ids (UUIDs, with or without hyphens). Checking them also
// keeps a value starting with "-" from being read by wrangler as a flag.
var validID = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

func checkID(what, id string) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("wrangler %s: %q is not a version id (expected a UUID such as 01234567-89ab-cdef-0123-456789abcdef)", what, id)
	}
	return nil
}

// VersionUpload is what `wrangler versions upload` reported.
type VersionUpload struct {
	WorkerName string
	WorkerTag  string
	VersionID  string
	PreviewURL string
}

// VersionsUpload uploads a new version without deploying it, with an optional tag and message
// (annotations workers/tag and workers/message).
func (r Runner) VersionsUpload(ctx context.Context, inv Invocation, tag, message string) (VersionUpload, error) {
	return r.versionsUpload(ctx, inv, tag, message)
}

func (r Runner) versionsUpload(ctx context.Context, inv Invocation, tag, message string, extra ...string) (VersionUpload, error) {
	args := append([]string{"versions", "upload", noProvision}, extra...)
	if tag != "" {
		args = append(args, "--tag", tag)
	}
	if message != "" {
		args = append(args, "--message", message)
	}
	res, err := r.exec(ctx, inv, "versions upload", append(args, uploadArgs(inv)...), "")
	if err != nil {
		return VersionUpload{}, err
	}
	var e versionUploadEntry
	ok, err := res.Entries.last("version-upload", &e)
	if err != nil {
		return VersionUpload{}, fmt.Errorf("wrangler versions upload: %w", err)
	}
	if !ok || e.VersionID == "" {
		return VersionUpload{}, errors.New("wrangler versions upload: exited 0 but reported no version id")
	}
	return VersionUpload{WorkerName: e.WorkerName, WorkerTag: deref(e.WorkerTag), VersionID: e.VersionID, PreviewURL: e.PreviewURL}, nil
}

// VersionsUploadKeep is VersionsUpload that also keeps what it uploaded: the bundle in outDir
// (--outdir) and the upload's metadata part (--outfile), so that a gradual rollout builds and
// uploads in one wrangler run, as DeployKeep does for a deploy. The kept metadata carries
// keep_bindings and annotations, which a deploy's does not; fingerprints leave them out.
func (r Runner) VersionsUploadKeep(ctx context.Context, inv Invocation, outDir, tag, message string) (VersionUpload, Bundle, error) {
	abs, bodyFile, err := keepPaths(inv, outDir)
	if err != nil {
		return VersionUpload{}, Bundle{}, fmt.Errorf("wrangler versions upload: %w", err)
	}
	defer os.Remove(bodyFile)
	up, err := r.versionsUpload(ctx, inv, tag, message, "--outdir", abs, "--outfile", bodyFile)
	if err != nil {
		return up, Bundle{}, err
	}
	b, err := keptBundle(abs, bodyFile, inv.Env)
	b.WorkerName = up.WorkerName
	if err != nil {
		return up, b, fmt.Errorf("wrangler versions upload: %w: %w", ErrBundleNotKept, err)
	}
	return up, b, nil
}

// Split is one version's share of traffic in a deployment.
type Split struct {
	VersionID string
	Percent   float64
}

// VersionDeploy is what `wrangler versions deploy` reported.
type VersionDeploy struct {
	WorkerName   string
	WorkerTag    string
	DeploymentID string
}

// VersionsDeploy creates a deployment of one or two versions whose percentages add up to 100.
// --yes is always passed: without it wrangler crashes when not on a terminal.
func (r Runner) VersionsDeploy(ctx context.Context, inv Invocation, splits []Split, message string) (VersionDeploy, error) {
	if len(splits) == 0 || len(splits) > 2 {
		return VersionDeploy{}, fmt.Errorf("wrangler versions deploy: %d versions given; give one or two", len(splits))
	}
	args := []string{"versions", "deploy"}
	var total float64
	for _, s := range splits {
		if err := checkID("versions deploy", s.VersionID); err != nil {
			return VersionDeploy{}, err
		}
		if s.Percent < 0 || s.Percent > 100 {
			return VersionDeploy{}, fmt.Errorf("wrangler versions deploy: %v%% for %s is outside 0-100", s.Percent, s.VersionID)
		}
		total += s.Percent
		args = append(args, s.VersionID+"@"+strconv.FormatFloat(s.Percent, 'f', -1, 64)+"%")
	}
	if total < 99.999 || total > 100.001 {
		return VersionDeploy{}, fmt.Errorf("wrangler versions deploy: percentages add up to %v, not 100", total)
	}
	args = append(args, "--message", message, "--yes")
	res, err := r.exec(ctx, inv, "versions deploy", append(args, baseArgs(inv)...), "")
	if err != nil {
		return VersionDeploy{}, err
	}
	var e versionDeployEntry
	ok, err := res.Entries.last("version-deploy", &e)
	if err != nil {
		return VersionDeploy{}, fmt.Errorf("wrangler versions deploy: %w", err)
	}
	if !ok {
		return VersionDeploy{}, errors.New("wrangler versions deploy: exited 0 but wrote no version-deploy entry")
	}
	return VersionDeploy{WorkerName: e.WorkerName, WorkerTag: deref(e.WorkerTag), DeploymentID: e.DeploymentID}, nil
}
