package wrangler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keepScript stands in for a real `wrangler deploy --outdir D --outfile F`: it writes the
// bundle into D first, then (after "the upload") the upload body into F, then the given tail.
func keepScript(rec, tail string) string {
	return rec + `
while [ $# -gt 0 ]; do
  case "$1" in --outdir) outdir=$2; shift;; --outfile) outfile=$2; shift;; esac
  shift
done
mkdir -p "$outdir"
printf 'export default { fetch() {} }' > "$outdir/index.js"
` + tail
}

const keptBody = `printf '%s\r\n' '--B' 'Content-Disposition: form-data; name="metadata"' '' '{"main_module":"index.js","migrations":{"new_tag":"v1"}}' '--B--' > "$outfile"
echo "Uploaded t-api-staging (1.00 sec)"
`

func TestDeployKeepReadsWhatItUploaded(t *testing.T) {
	rec, args := argsFile(t)
	r := fakeWrangler(t, keepScript(rec, keptBody+`
echo '{"type":"deploy","version":1,"worker_name":"t-api-staging","worker_tag":"abc","version_id":"`+liveID+`","targets":["https://t-api-staging.t.workers.dev"],"worker_name_overridden":false}' >> "$WRANGLER_OUTPUT_FILE_PATH"`))
	out := filepath.Join(t.TempDir(), "bundle")
	res, b, err := r.DeployKeep(context.Background(), Invocation{ConfigPath: "/cfg/wrangler.jsonc", Env: "staging", ScratchDir: t.TempDir()}, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.VersionID != liveID || res.WorkerName != "t-api-staging" {
		t.Fatalf("result %+v", res)
	}
	if b.SHA256 != sha([]byte("export default { fetch() {} }")) || b.MainModule != filepath.Join(out, "index.js") || b.WorkerName != "t-api-staging" ||
		!strings.Contains(string(b.Metadata), `"migrations"`) {
		t.Fatalf("bundle %+v metadata %s", b, b.Metadata)
	}
	if _, err := os.Stat(filepath.Join(out, MetadataFile)); err != nil {
		t.Fatalf("metadata not kept beside the code: %v", err)
	}
	a := args()
	if !strings.HasPrefix(a, "deploy\n--no-x-provision\n--outdir\n"+out+"\n--outfile\n") || strings.Contains(a, "--dry-run") || !strings.HasSuffix(a, "--config\n/cfg/wrangler.jsonc\n--env=staging\n") {
		t.Fatalf("args = %q", a)
	}
}

// A trigger failure after the upload keeps the bundle (the new code may be live, and the
// caller records what it is); a failed upload leaves none and says nothing went live.
func TestDeployKeepFailures(t *testing.T) {
	rec, _ := argsFile(t)
	after := fakeWrangler(t, keepScript(rec, keptBody+`
echo '{"type":"command-failed","version":1,"code":10013,"message":"schedules failed"}' >> "$WRANGLER_OUTPUT_FILE_PATH"
exit 1`))
	_, b, err := after.DeployKeep(context.Background(), Invocation{ConfigPath: "c", Env: "staging", ScratchDir: t.TempDir()}, t.TempDir())
	ce, ok := errorsAsCommand(err)
	if !ok || !ce.Uploaded || ce.Code != "10013" || b.SHA256 == "" {
		t.Fatalf("after upload: err %v, bundle %+v", err, b)
	}
	before := fakeWrangler(t, keepScript(rec, `
echo '{"type":"command-failed","version":1,"code":10021,"message":"script rejected"}' >> "$WRANGLER_OUTPUT_FILE_PATH"
exit 1`))
	_, b, err = before.DeployKeep(context.Background(), Invocation{ConfigPath: "c", Env: "staging", ScratchDir: t.TempDir()}, t.TempDir())
	ce, ok = errorsAsCommand(err)
	if !ok || ce.Uploaded || b.SHA256 != "" {
		t.Fatalf("failed upload: err %v, bundle %+v", err, b)
	}
	// Exit 0 without the upload body: the version is live, but what it runs is unknown.
	noBody := fakeWrangler(t, keepScript(rec, `
echo '{"type":"deploy","version":1,"worker_name":"w","version_id":"`+liveID+`","targets":[]}' >> "$WRANGLER_OUTPUT_FILE_PATH"`))
	res, _, err := noBody.DeployKeep(context.Background(), Invocation{ConfigPath: "c", ScratchDir: t.TempDir()}, t.TempDir())
	if !errors.Is(err, ErrBundleNotKept) || res.VersionID != liveID {
		t.Fatalf("no upload body: %+v %v", res, err)
	}
}
