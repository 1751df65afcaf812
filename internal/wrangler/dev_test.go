package wrangler

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// The real `wrangler dev` serves the fixture Worker offline, and StopGroup takes it and its
// workerd down.
func TestDevServesTheFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("starts workerd")
	}
	r := realRunner(t)
	port := testrepo.FreePort(t)
	state := t.TempDir()
	logPath := filepath.Join(state, "dev.log")
	inv := fixtureInvocation(t, "")
	cmd, err := r.Dev(context.Background(), inv, DevOptions{Port: port, LogPath: logPath, PersistTo: filepath.Join(state, "persist")})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = StopGroup(context.Background(), cmd.Process.Pid, time.Second) }()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	var body struct{ Status, Tenant, Env string }
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil {
				break
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("wrangler dev exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("no answer from %s: %v\n%s", url, err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if body.Status != "ok" || body.Tenant != "fixture" || body.Env != "dev" {
		t.Errorf("health = %+v", body)
	}
	if err := StopGroup(context.Background(), cmd.Process.Pid, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("wrangler dev still running after StopGroup")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("port still answers after StopGroup")
	}
}

func TestDevRefusesBadOptions(t *testing.T) {
	r := Runner{Bin: "/nonexistent"}
	inv := Invocation{ConfigPath: "c", ScratchDir: t.TempDir()}
	for name, o := range map[string]DevOptions{
		"no port":        {LogPath: "l"},
		"port too big":   {Port: 70000, LogPath: "l"},
		"no log":         {Port: 8787},
		"credential env": {Port: 8787, LogPath: "l", ExtraEnv: []string{"CLOUDFLARE_API_TOKEN=x"}},
		"override env":   {Port: 8787, LogPath: "l", ExtraEnv: []string{"WRANGLER_CI_OVERRIDE_NAME=x"}},
	} {
		if _, err := r.Dev(context.Background(), inv, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
