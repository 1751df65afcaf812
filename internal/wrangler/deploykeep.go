package wrangler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrBundleNotKept is DeployKeep's error when the deploy succeeded (the DeployResult is
// filled) but the bundle or upload body it should have left could not be read.
var ErrBundleNotKept = errors.New("the upload is live but its bundle could not be read")

// DeployKeep runs `wrangler deploy` like Deploy, and also keeps what it uploaded: the bundle
// in outDir (--outdir) and the upload's metadata part (--outfile), so that one wrangler run
// both builds and deploys. Without it, knowing what went live costs a second node start for a
// `--dry-run` build.
//
// The kept metadata is the real upload's, which differs from a dry run's in one way: it
// carries the Durable Object migrations wrangler computed against the live script. Callers
// that compare it with a dry-run build must leave "migrations" out.
//
// wrangler writes the bundle before the upload and the metadata after it, so on a failed
// upload Bundle is empty; on a failure after the upload (a trigger step) it is filled.
func (r Runner) DeployKeep(ctx context.Context, inv Invocation, outDir string) (DeployResult, Bundle, error) {
	abs, bodyFile, err := keepPaths(inv, outDir)
	if err != nil {
		return DeployResult{}, Bundle{}, fmt.Errorf("wrangler deploy: %w", err)
	}
	defer os.Remove(bodyFile)

	args := append([]string{"deploy", noProvision, "--outdir", abs, "--outfile", bodyFile}, uploadArgs(inv)...)
	res, err := r.exec(ctx, inv, "deploy", args, "")
	if err != nil {
		var kept Bundle
		err = deployFailure(ctx, res, err)
		var ce *CommandError
		var ie *InterruptedError
		if (errors.As(err, &ce) && ce.Uploaded) || (errors.As(err, &ie) && ie.Uploaded) {
			kept, _ = keptBundle(abs, bodyFile, inv.Env)
		}
		return DeployResult{}, kept, err
	}
	var d deployEntry
	ok, err := res.Entries.last("deploy", &d)
	if err != nil {
		return DeployResult{}, Bundle{}, fmt.Errorf("wrangler deploy: %w", err)
	}
	if !ok {
		return DeployResult{}, Bundle{}, fmt.Errorf("wrangler deploy: wrangler exited 0 but wrote no deploy entry to its output file; check the Worker's state with `wrangler deployments list`")
	}
	if d.NameOverridden {
		return DeployResult{}, Bundle{}, fmt.Errorf("wrangler deploy: wrangler overrode the Worker name (%s); WRANGLER_CI_OVERRIDE_NAME must never reach a tenant's run", d.WorkerName)
	}
	out := DeployResult{WorkerName: d.WorkerName, WorkerTag: deref(d.WorkerTag), VersionID: deref(d.VersionID), Targets: d.Targets}
	b, berr := keptBundle(abs, bodyFile, inv.Env)
	b.WorkerName = d.WorkerName
	if out.VersionID == "" {
		return out, b, &CommandError{Command: "deploy", Message: "wrangler reported no version id for the upload", Uploaded: true, Stderr: tail(res.Stderr, 12)}
	}
	if berr != nil {
		// The new version is live; only our copy of what it runs is missing.
		return out, b, fmt.Errorf("wrangler deploy: %w: %w", ErrBundleNotKept, berr)
	}
	return out, b, nil
}

// keepPaths makes the absolute bundle folder and names a free file for the upload body that
// --outdir and --outfile fill.
func keepPaths(inv Invocation, outDir string) (abs, bodyFile string, err error) {
	if abs, err = filepath.Abs(outDir); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", "", fmt.Errorf("output folder: %w", err)
	}
	body, err := os.CreateTemp(inv.ScratchDir, "wrangler-upload-*.multipart")
	if err != nil {
		return "", "", err
	}
	_ = body.Close()
	// An empty file must not pass for an upload wrangler never wrote.
	_ = os.Remove(body.Name())
	return abs, body.Name(), nil
}

// keptBundle reads the bundle a real deploy left in dir and the metadata part of the upload
// body it wrote to bodyFile.
func keptBundle(dir, bodyFile, env string) (Bundle, error) {
	raw, err := os.ReadFile(bodyFile)
	if err != nil {
		return Bundle{}, fmt.Errorf("upload body: %w", err)
	}
	meta, err := uploadMetadata(raw)
	if err != nil {
		return Bundle{}, err
	}
	var m struct {
		MainModule string `json:"main_module"`
	}
	if err := json.Unmarshal(meta, &m); err != nil || m.MainModule == "" {
		return Bundle{}, fmt.Errorf("upload metadata of env %q has no main_module (a service-worker script?); the Worker must be an ES module", env)
	}
	main := filepath.Join(dir, filepath.FromSlash(m.MainModule))
	if !strings.HasPrefix(main, dir+string(filepath.Separator)) {
		return Bundle{}, fmt.Errorf("main_module %q points outside %s", m.MainModule, dir)
	}
	sum, err := fileSHA256(main)
	if err != nil {
		return Bundle{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, MetadataFile), append(indent(meta), '\n'), 0o644); err != nil {
		return Bundle{}, err
	}
	return Bundle{Dir: dir, MainModule: main, SHA256: sum, Metadata: meta}, nil
}
