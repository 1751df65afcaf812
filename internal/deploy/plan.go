package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	return fmt.Sprintf("plan for %s (account %s):\n  live version:  %s\n  fingerprint:   %s (live: %s)\n  bundle sha256: %s (live: %s)\n  action:        %s: %s",
		p.Worker, p.AccountID, live, p.Fingerprint, orNone(p.LiveFingerprint), p.BundleSHA256, orNone(p.LiveContentSHA256), action, p.Why)
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

// AnnotationMessage is the workers/message a verified deploy leaves on its deployment.
func AnnotationMessage(fingerprint, gitSHA string) string {
	msg := "fp:" + fingerprint
	if gitSHA != "" {
		msg += " git:" + gitSHA
	}
	return msg
}

// FingerprintOf reads the fingerprint out of a workers/message ("" when there is none).
func FingerprintOf(message string) string {
	for _, f := range strings.Fields(message) {
		if v, ok := strings.CutPrefix(f, "fp:"); ok {
			return v
		}
	}
	return ""
}

// makePlan reads the live deployment and decides whether there is anything to deploy.
func makePlan(ctx context.Context, st *State) (Plan, error) {
	p := Plan{Worker: st.Resolved.WorkerName, AccountID: st.Resolved.AccountID, Fingerprint: st.Fingerprint, BundleSHA256: st.Bundle.SHA256}
	live, err := st.API.LiveDeployment(ctx, p.Worker)
	if errors.Is(err, cfapi.ErrNotDeployed) {
		p.Why = "the Worker has never been deployed"
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("reading the live deployment: %w", err)
	}
	primary := live.Primary()
	p.LiveVersionID = primary.VersionID
	p.LiveFingerprint = FingerprintOf(live.Message)
	switch {
	case len(live.Versions) != 1 || primary.Percentage < 100:
		p.Why = "the live deployment splits traffic between versions"
		return p, nil
	case p.LiveFingerprint == "":
		p.Why = "the live deployment carries no fingerprint (deployed by hand, or the last deploy was not verified)"
		return p, nil
	case p.LiveFingerprint != p.Fingerprint:
		p.Why = "the code or the deploy config differ from what is live"
		return p, nil
	}
	sum, err := st.API.ContentSHA256(ctx, p.Worker, p.LiveVersionID)
	if err != nil {
		return p, fmt.Errorf("reading the live code: %w", err)
	}
	p.LiveContentSHA256 = sum
	if sum != p.BundleSHA256 {
		p.Why = "the live deployment carries this fingerprint but runs other code (changed outside this tool)"
		return p, nil
	}
	p.Unchanged = true
	p.Why = "the live version already runs this fingerprint and this code"
	if st.Opts.Force {
		p.Why += "; -force=true deploys anyway"
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
	base := strings.TrimRight(st.Opts.APIBaseURL, "/")
	if base == "" {
		base = cfapi.DefaultBaseURL
	}
	body, _ := json.Marshal(map[string]any{
		"strategy":    "percentage",
		"versions":    []map[string]any{{"version_id": versionID, "percentage": 100}},
		"annotations": map[string]string{"workers/message": message},
	})
	url := fmt.Sprintf("%s/accounts/%s/workers/scripts/%s/deployments", base, st.Resolved.AccountID, st.Resolved.WorkerName)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+st.Token.Value.Reveal())
	resp, err := st.Opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST deployments: %s", scrub(err.Error(), st.Token.Value.Reveal()))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var env struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || !env.Success {
		return fmt.Errorf("POST deployments: HTTP %d: %s", resp.StatusCode, scrub(strings.TrimSpace(string(raw)), st.Token.Value.Reveal()))
	}
	return nil
}

func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}
