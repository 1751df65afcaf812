//go:build linux

package sandboxhost

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// sandbox:start runs the workerd edge by default, and sandbox:stop leaves no Node or workerd
// process behind.
func TestStartedSandboxRunsTheWorkerAndStopStopsIt(t *testing.T) {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := scratch(t)
	// The checkout's node packages, installed: a link, and a lock file older than the install.
	if err := os.Symlink(filepath.Join(repo.Root, "node_modules"), filepath.Join(ws.Root, "node_modules")); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(ws.Root, "package-lock.json")
	if err := os.WriteFile(lock, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-24 * time.Hour * 3650)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, started, err := Start(ctx, ws, quiet(), StartOptions{Binary: buildSandbox(t), Wait: 20 * time.Second})
	t.Cleanup(func() { _, _ = sandboxctl.Stop(context.Background(), ws, quiet()) })
	if err != nil || !started || st.Edge != "workerd" {
		t.Fatalf("start: %+v %v %v", st, started, err)
	}
	ep, err := sandboxctl.Resolve(ctx, ws, quiet())
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := ep.TokenFor(acctA)

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("metadata", `{"main_module":"index.js","compatibility_date":"2025-09-01","bindings":[{"type":"plain_text","name":"WHO","text":"alpha"}]}`)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="index.js"; filename="index.js"`)
	h.Set("Content-Type", "application/javascript+module")
	pw, _ := mw.CreatePart(h)
	_, _ = io.WriteString(pw, `export default { fetch(req, env) { return new Response("hello from " + env.WHO + " " + new URL(req.url).pathname) } };`)
	_ = mw.Close()
	api := func(method, path, ct string, body []byte) {
		req, _ := http.NewRequest(method, st.APIBaseURL+"/accounts/"+acctA+"/workers/scripts/w"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if b, _ := io.ReadAll(res.Body); res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	api("PUT", "", mw.FormDataContentType(), buf.Bytes())
	sub, _ := json.Marshal(map[string]bool{"enabled": true})
	api("POST", "/subdomain", "application/json", sub)

	req, _ := http.NewRequest("GET", st.URL+"/x", nil)
	req.Host = "w.alpha.workers.dev"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "hello from alpha /x" {
		t.Fatalf("edge = %d %s", res.StatusCode, body)
	}
	kids := children(st.PID)
	if len(kids) == 0 {
		t.Fatal("the sandbox runs no edge supervisor")
	}
	kids = append(kids, children(kids[0])...)
	if was, err := sandboxctl.Stop(ctx, ws, quiet()); err != nil || !was {
		t.Fatalf("stop: %v %v", was, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range kids {
		for processRunning(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d outlived sandbox:stop", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// children lists pid's direct children, from /proc.
func children(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, n)
		}
	}
	return out
}

func processRunning(pid int) bool { return sandboxctl.Running(pid) }
