package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Plan is what a deploy would change, computed before anything is changed.
type Plan struct {
	Worker    string `json:"worker"`
	AccountID string `json:"account_id"`
	// LiveVersionID is the version serving now ("" before the first deploy).
	LiveVersionID string `json:"live_version_id"`
	// LiveFingerprint is the fingerprint the live deployment is marked with ("" when unmarked).
	LiveFingerprint string `json:"live_fingerprint"`
	// LiveContentSHA256 is the sha256 of the code the live version runs ("" when not read).
	LiveContentSHA256 string `json:"live_content_sha256"`
	Fingerprint       string `json:"fingerprint"`
	BundleSHA256      string `json:"bundle_sha256"`
	// Inputs hashes the files the bundle is built from; LiveInputs is the live deployment's.
	// Without a local build, equal inputs stand in for an equal fingerprint.
	Inputs     string `json:"inputs_sha256,omitempty"`
	LiveInputs string `json:"live_inputs_sha256,omitempty"`
	// Unchanged: the live version runs this fingerprint and this code; nothing to upload.
	Unchanged bool `json:"unchanged"`
	// Why explains the decision in one sentence.
	Why string `json:"why"`
}

func (p Plan) String() string {
	live := p.LiveVersionID
	if live == "" {
		live = "none (first deploy)"
	}
	action := "deploy a new version"
	if p.Unchanged {
		action = "nothing (unchanged)"
	}
	return fmt.Sprintf("plan for %s (account %s):\n  live version:  %s\n  fingerprint:   %s (live: %s)\n  bundle sha256: %s (live: %s)\n  inputs:        %s (live: %s)\n  action:        %s: %s",
		p.Worker, p.AccountID, live, orNone(p.Fingerprint), orNone(p.LiveFingerprint), orNone(p.BundleSHA256), orNone(p.LiveContentSHA256),
		orNone(p.Inputs), orNone(p.LiveInputs), action, p.Why)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fingerprintInput is everything that decides what a deploy puts live, in a stable form.
type fingerprintInput struct {
	BundleSHA256 string         `json:"bundle_sha256"`
	Worker       string         `json:"worker"`
	AccountID    string         `json:"account_id"`
	Metadata     any            `json:"upload_metadata"` // bindings, vars, compat date/flags, main module
	Crons        []string       `json:"crons"`
	Routes       []tenant.Route `json:"routes"`
	WorkersDev   bool           `json:"workers_dev"`
	PreviewURLs  *bool          `json:"preview_urls"`
	Migrations   any            `json:"migrations"`
}

// Fingerprint is the sha256 of the bundle's code and the resolved deploy config: two builds
// with the same fingerprint put the same thing live.
func Fingerprint(b wrangler.Bundle, r tenant.ResolvedEnv) (string, error) {
	var meta any
	if len(b.Metadata) > 0 {
		if err := json.Unmarshal(b.Metadata, &meta); err != nil {
			return "", fmt.Errorf("fingerprint: upload metadata: %w", err)
		}
	}
	// A real upload carries the migrations wrangler computed against the live script, a dry
	// run none: both builds of one tree must fingerprint alike, and the configured migrations
	// are counted below.
	// A version upload's metadata adds keep_bindings and annotations (the message): the same
	// code and config must fingerprint alike however it went up.
	if m, ok := meta.(map[string]any); ok {
		delete(m, "migrations")
		delete(m, "keep_bindings")
		delete(m, "annotations")
	}
	in := fingerprintInput{
		BundleSHA256: b.SHA256, Worker: r.WorkerName, AccountID: r.AccountID, Metadata: meta,
		Crons: r.Crons, Routes: r.Routes, WorkersDev: r.WorkersDev, PreviewURLs: r.PreviewURLs, Migrations: r.Migrations,
	}
	// encoding/json writes map keys sorted, so equal inputs give equal bytes.
	data, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// Annotation is what a verified deploy writes into its deployment's workers/message, so that
// the next run can tell from Cloudflare alone what is live: "fp:<fingerprint> in:<inputs>
// bundle:<sha256> git:<sha>". Cloudflare keeps 1000 bytes of a deployment message; this is
// at most 3*64 + 40 hex digits and four short keys, about 250.
type Annotation struct {
	// Fingerprint is the deploy's fingerprint (bundle and resolved config).
	Fingerprint string
	// Inputs is the hash of the files the bundle was built from (see buildcache.InputsHash): a later run
	// over the same files knows, without building, that it would build the same thing.
	Inputs string
	// Bundle is the sha256 of the entry module, so that the live code can be checked against
	// it without a local build.
	Bundle string
	// GitSHA is the commit deployed, for people reading the deployment list.
	GitSHA string
}

// String renders the annotation; empty fields are left out.
func (a Annotation) String() string {
	var f []string
	for _, kv := range [][2]string{{"fp:", a.Fingerprint}, {"in:", a.Inputs}, {"bundle:", a.Bundle}, {"git:", a.GitSHA}} {
		if kv[1] != "" {
			f = append(f, kv[0]+kv[1])
		}
	}
	return strings.Join(f, " ")
}

// ParseAnnotation reads an Annotation out of a workers/message; fields it lacks are "". A
// message written by hand ("Rollback") yields the zero Annotation.
func ParseAnnotation(message string) Annotation {
	var a Annotation
	for _, f := range strings.Fields(message) {
		key, val, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		switch key {
		case "fp":
			a.Fingerprint = val
		case "in":
			a.Inputs = val
		case "bundle":
			a.Bundle = val
		case "git":
			a.GitSHA = val
		}
	}
	return a
}

// makePlan reads the live deployment and decides whether there is anything to deploy.
func makePlan(ctx context.Context, st *State) (Plan, error) {
	ours := Plan{Worker: st.Resolved.WorkerName, AccountID: st.Resolved.AccountID, Fingerprint: st.Fingerprint,
		BundleSHA256: st.Bundle.SHA256, Inputs: st.Inputs}
	live, err := st.API.LiveDeployment(ctx, ours.Worker)
	if errors.Is(err, cfapi.ErrNotDeployed) {
		ours.Why = "the Worker has never been deployed"
		return ours, nil
	}
	if err != nil {
		return ours, fmt.Errorf("reading the live deployment: %w", err)
	}
	p, err := decide(ours, live, func(versionID string) (string, error) {
		return st.API.ContentSHA256(ctx, ours.Worker, versionID)
	})
	if err != nil {
		return p, fmt.Errorf("reading the live code: %w", err)
	}
	if p.Unchanged && st.Opts.Force {
		p.Why += "; -force=true deploys anyway"
	}
	return p, nil
}

// decide compares what we would deploy (ours: our fingerprint and bundle when there is a
// local build, else only our inputs hash) with the live deployment. liveCode reads the sha256
// of a version's code; it is called only when everything else already matches.
func decide(ours Plan, live cfapi.Deployment, liveCode func(versionID string) (string, error)) (Plan, error) {
	p := ours
	primary := live.Primary()
	ann := ParseAnnotation(live.Message)
	p.LiveVersionID = primary.VersionID
	p.LiveFingerprint = ann.Fingerprint
	p.LiveInputs = ann.Inputs
	built := p.Fingerprint != ""
	// What the live code must hash to for "unchanged": our bundle, or without a local build the
	// bundle the live deployment says it runs (our inputs equal its inputs, so we would build it).
	want := p.BundleSHA256
	switch {
	case len(live.Versions) != 1 || primary.Percentage < 100:
		p.Why = "the live deployment splits traffic between versions"
		return p, nil
	case p.LiveFingerprint == "":
		p.Why = "the live deployment carries no fingerprint (put live by a rollback, by hand, or by a deploy that was not verified)"
		return p, nil
	case built && p.LiveFingerprint != p.Fingerprint:
		p.Why = "the code or the deploy config differ from what is live"
		return p, nil
	case !built && p.Inputs == "":
		p.Why = "the build inputs could not be hashed, so deploying builds and uploads"
		return p, nil
	case !built && p.LiveInputs == "":
		p.Why = "the live deployment does not name the inputs it was built from, so deploying builds and uploads"
		return p, nil
	case !built && p.LiveInputs != p.Inputs:
		p.Why = "the Worker's sources or the tenant's files differ from the ones the live version was built from"
		return p, nil
	case !built && ann.Bundle == "":
		p.Why = "the live deployment does not name its bundle, so deploying builds and uploads"
		return p, nil
	case !built:
		want = ann.Bundle
	}
	sum, err := liveCode(p.LiveVersionID)
	if err != nil {
		return p, err
	}
	p.LiveContentSHA256 = sum
	if sum != want {
		p.Why = "the live deployment carries this fingerprint but runs other code (changed outside this tool)"
		return p, nil
	}
	p.Unchanged = true
	p.Why = "the live version already runs this fingerprint and this code"
	if !built {
		// The same inputs build the same bundle, so the live fingerprint is ours.
		p.Fingerprint, p.BundleSHA256 = p.LiveFingerprint, want
		p.Why = "the live version was built from these same files and runs that build's code"
	}
	return p, nil
}

// annotate creates a deployment of versionID at 100% carrying message, so that the live
// deployment records what it runs. wrangler 4.63.0's deploy takes no message, and
// cloudflare-go v6 cannot tell a 200 answer with success:false from a success, so this one
// write is a plain request checked against the API envelope.
func annotate(ctx context.Context, st *State, versionID, message string) error {
	if versionID == "" {
		return errors.New("no version id to annotate")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Annotate never deploys over a version that is no longer this run's own: the live
	// deployment must still be versionID alone, before the write and after it.
	_, err := st.API.DeployVersionChecked(ctx, st.Resolved.WorkerName, []string{versionID}, versionID, message, false)
	return err
}
