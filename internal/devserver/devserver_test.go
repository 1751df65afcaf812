package devserver

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// tempWorkspace copies the tenants and the Worker into a temporary checkout that shares
// node_modules, so the test writes no record into the repository.
func tempWorkspace(t *testing.T) workspace.Workspace {
	t.Helper()
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	return testrepo.Copy(t, repo, testrepo.Options{})
}

func TestStartServesTheRealWorker(t *testing.T) {
	ws := tempWorkspace(t)
	ctx := context.Background()
	port := testrepo.FreePort(t)
	srv, rec, err := Start(ctx, Options{Workspace: ws, Tenant: "mrrainbowsmoke", Port: port, Deadline: 90 * time.Second})
	t.Cleanup(func() { _, _ = Stop(context.Background(), ws, "all") })
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != history.StatusSucceeded || rec.Env != "dev" || rec.VersionID == "" {
		t.Fatalf("record %+v", rec)
	}
	// The test's own request to the Worker's /health.
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h["status"] != "ok" || h["tenant"] != "mrrainbowsmoke" || h["env"] != "dev" {
		t.Fatalf("health %d %v", resp.StatusCode, h)
	}
	list, err := List(ws)
	if err != nil || len(list) != 1 || !list[0].Alive || list[0].Port != port {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// Starting again replaces the running server.
	srv2, _, err := Start(ctx, Options{Workspace: ws, Tenant: "mrrainbowsmoke", Port: port, Deadline: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if srv2.PID == srv.PID || syscallAlive(srv.PID) {
		t.Fatalf("the first server (pid %d) still runs after a restart", srv.PID)
	}

	stopped, err := Stop(ctx, ws, "mrrainbowsmoke")
	if err != nil || len(stopped) != 1 {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if syscallAlive(srv2.PID) {
		t.Fatal("server still running after Stop")
	}
	if _, err := http.Get(srv.URL + "/health"); err == nil {
		t.Fatal("port still answers after Stop")
	}
	if list, _ := List(ws); len(list) != 0 {
		t.Fatalf("pidfile left: %+v", list)
	}
	recs, _ := history.Open(ws.DeploymentsDir()).List("mrrainbowsmoke", "dev")
	if len(recs) != 2 {
		t.Fatalf("%d dev records, want 2", len(recs))
	}
}

func syscallAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited; it only waits for its parent to reap it.
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func TestStartRefusesTakenPort(t *testing.T) {
	ws := tempWorkspace(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, rec, err := Start(context.Background(), Options{Workspace: ws, Tenant: "mrrainbowsmoke", Port: l.Addr().(*net.TCPAddr).Port})
	if err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("err = %v", err)
	}
	if rec.Status != history.StatusFailed {
		t.Fatalf("record %+v", rec)
	}
}
