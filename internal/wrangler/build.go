package wrangler

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
)

// Bundle is the output of a dry-run build: what `wrangler deploy` would upload.
type Bundle struct {
	// Dir is the --outdir folder (index.js, its source map, wrangler's README).
	Dir string
	// WorkerName is the Worker the config resolves to for the environment.
	WorkerName string
	// MainModule is the path of the entry module inside Dir.
	MainModule string
	// SHA256 is the hex sha256 of the entry module: the code that would be uploaded.
	SHA256 string
	// Metadata is the upload's metadata part as wrangler would send it: main_module,
	// bindings (vars as plain_text, KV, Durable Objects, …), compatibility date and flags.
	// Dry runs carry no migrations (wrangler computes them only against the live script).
	Metadata json.RawMessage
}

// MetadataFile is written into the bundle folder beside the code, so a person or a later
// step can see what the build would upload without re-running wrangler.
const MetadataFile = "upload-metadata.json"

// Build bundles the Worker for inv's config and environment with `wrangler deploy --dry-run`
// into outDir. It needs no token and makes no API call; inv.Token is ignored.
func (r Runner) Build(ctx context.Context, inv Invocation, outDir string) (Bundle, error) {
	// A dry run needs no credentials; never hand them to it.
	inv.Token = creds.Secret{}
	abs, err := filepath.Abs(outDir)
	if err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: output folder: %w", err)
	}
	// The multipart body holds the metadata we want; it goes to a throwaway file because its
	// boundary is random and would make the bundle folder differ on every build.
	body, err := os.CreateTemp(inv.ScratchDir, "wrangler-upload-*.multipart")
	if err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: %w", err)
	}
	_ = body.Close()
	defer os.Remove(body.Name())

	args := append([]string{"deploy", "--dry-run", "--outdir", abs, "--outfile", body.Name()}, baseArgs(inv)...)
	res, err := r.exec(ctx, inv, "deploy --dry-run", args, "")
	if err != nil {
		return Bundle{}, err
	}
	var d deployEntry
	ok, err := res.Entries.last("deploy", &d)
	if err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: %w", err)
	}
	if !ok {
		return Bundle{}, fmt.Errorf("wrangler build: wrangler exited 0 but wrote no deploy entry to its output file\n%s", tail(res.Stderr, 12))
	}
	if d.NameOverridden {
		return Bundle{}, fmt.Errorf("wrangler build: wrangler overrode the Worker name (%s); WRANGLER_CI_OVERRIDE_NAME must never reach a tenant's run", d.WorkerName)
	}
	raw, err := os.ReadFile(body.Name())
	if err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: upload body: %w", err)
	}
	meta, err := uploadMetadata(raw)
	if err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: %w", err)
	}
	var m struct {
		MainModule string `json:"main_module"`
	}
	if err := json.Unmarshal(meta, &m); err != nil || m.MainModule == "" {
		return Bundle{}, fmt.Errorf("wrangler build: upload metadata has no main_module (a service-worker script?); the Worker must be an ES module")
	}
	main := filepath.Join(abs, filepath.FromSlash(m.MainModule))
	if !strings.HasPrefix(main, abs+string(filepath.Separator)) {
		return Bundle{}, fmt.Errorf("wrangler build: main_module %q points outside %s", m.MainModule, abs)
	}
	sum, err := fileSHA256(main)
	if err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: %w", err)
	}
	if err := os.WriteFile(filepath.Join(abs, MetadataFile), append(indent(meta), '\n'), 0o644); err != nil {
		return Bundle{}, fmt.Errorf("wrangler build: %w", err)
	}
	return Bundle{Dir: abs, WorkerName: d.WorkerName, MainModule: main, SHA256: sum, Metadata: meta}, nil
}

// uploadMetadata extracts the "metadata" part from the multipart body wrangler would upload.
// The body starts with its boundary line ("--" + boundary).
func uploadMetadata(body []byte) (json.RawMessage, error) {
	first, _, _ := bytes.Cut(body, []byte("\n"))
	boundary := strings.TrimPrefix(strings.TrimRight(string(first), "\r"), "--")
	if boundary == "" || boundary == string(first) {
		return nil, errors.New("upload body does not start with a multipart boundary")
	}
	mr := multipart.NewReader(bufio.NewReader(bytes.NewReader(body)), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("upload body has no metadata part")
		}
		if err != nil {
			return nil, fmt.Errorf("upload body: %w", err)
		}
		if p.FormName() != "metadata" {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("upload body metadata: %w", err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return nil, fmt.Errorf("upload body metadata is not JSON: %w", err)
		}
		return buf.Bytes(), nil
	}
}

func indent(j json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Indent(&b, j, "", "  ") != nil {
		return j
	}
	return b.Bytes()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
