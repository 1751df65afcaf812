package cfapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// fixture copies testdata/worker into a scratch folder with accountID filled in.
func fixture(t testing.TB, accountID string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"wrangler.jsonc", "src/index.js"} {
		data, err := os.ReadFile(filepath.Join("testdata", "worker", f))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("ACCOUNT_ID"), []byte(accountID))
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// wrangler runs the real wrangler in dir with an environment built from scratch (contract
// §8): only the sandbox as API and one token, metrics, banner and error reports off, the
// update check seeded, its own HOME and TMPDIR. It fails the test unless wrangler exits 0.
func wrangler(t testing.TB, base, token, dir, stdin string, args ...string) string {
	t.Helper()
	bin := testrepo.Wrangler(t)
	run := testrepo.NewWranglerRun(t, base, token)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--config", filepath.Join(dir, "wrangler.jsonc"))...)
	cmd.Dir = dir
	cmd.Env = run.Env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("wrangler %v: %v", args, err)
		}
		t.Fatalf("wrangler %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, ee.ExitCode(),
			ansiEscape.ReplaceAllString(out.String(), ""), ansiEscape.ReplaceAllString(errb.String(), ""))
	}
	return ansiEscape.ReplaceAllString(out.String(), "")
}

// dryRun builds the staging bundle offline and returns the sha256 of its entry module and
// the bindings of the upload metadata wrangler would send.
func dryRun(t *testing.T, dir string) (string, Bindings) {
	t.Helper()
	outdir, outfile := filepath.Join(t.TempDir(), "dist"), filepath.Join(t.TempDir(), "upload.multipart")
	wrangler(t, "", "", dir, "", "deploy", "--dry-run", "--env", "staging", "--outdir", outdir, "--outfile", outfile)
	bundle, err := os.ReadFile(filepath.Join(outdir, "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bundle)
	return hex.EncodeToString(sum[:]), uploadBindings(t, outfile)
}

// uploadBindings reads the metadata part of a multipart upload body written by --outfile.
func uploadBindings(t *testing.T, path string) Bindings {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file starts with the boundary line; the body carries no Content-Type header.
	first, _, _ := bytes.Cut(data, []byte("\r\n"))
	boundary := strings.TrimPrefix(string(first), "--")
	if _, _, err := mime.ParseMediaType("multipart/form-data; boundary=" + boundary); err != nil {
		t.Fatalf("upload body: %v", err)
	}
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			t.Fatal("upload body has no metadata part")
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FormName() != "metadata" {
			continue
		}
		var meta struct {
			Bindings json.RawMessage `json:"bindings"`
		}
		if err := json.NewDecoder(p).Decode(&meta); err != nil {
			t.Fatal(err)
		}
		bs, err := ParseBindings(meta.Bindings)
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
}

// sandboxFor starts an in-memory sandbox with two accounts on loopback.
func sandboxFor(t testing.TB) (*sandbox.Server, string) {
	t.Helper()
	// Every request cfapi (and wrangler) sends, and every answer, is judged by cloudflare-go's
	// types when the test ends.
	s, err := sandbox.New(sandbox.Options{Accounts: []sandbox.Account{
		{ID: testAccount, Name: "Read-back A", Subdomain: "readback-a"},
		{ID: otherAcct, Name: "Read-back B", Subdomain: "readback-b"},
	}, Observe: cfcontract.Observer[sandbox.Exchange](t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL + "/client/v4"
}
