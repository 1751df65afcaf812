//go:build linux

package sandbox

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEdgeHelperProcess is not a test: TestWorkerdEdgeDiesWithTheSandbox runs the test binary
// again with this test selected to get a sandbox in a process of its own that it can kill -9.
func TestEdgeHelperProcess(t *testing.T) {
	nm := os.Getenv("SANDBOX_EDGE_HELPER_NODE_MODULES")
	if nm == "" {
		return
	}
	s, err := New(Options{Accounts: testAccounts(), Edge: EdgeOptions{Mode: EdgeWorkerd, NodeModules: nm, Dir: os.Getenv("SANDBOX_EDGE_HELPER_DIR")}})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Printf("URL http://%s %s\n", ln.Addr(), s.Token(acctA))
	_ = http.Serve(ln, s.Handler())
}

func TestWorkerdEdgeDiesWithTheSandbox(t *testing.T) {
	opts := workerdOptions(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestEdgeHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "SANDBOX_EDGE_HELPER_NODE_MODULES="+opts.Edge.NodeModules, "SANDBOX_EDGE_HELPER_DIR="+opts.Edge.Dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "URL" {
		t.Fatalf("helper said %q (%v)", line, err)
	}
	c := apiClient{t: t, base: f[1], token: f[2]}
	putProbe(t, c, acctA, "orphan", "x")
	if r := edgeGet(t, c.base, "orphan."+subA+".workers.dev", "/env", nil); r.status != 200 {
		t.Fatalf("/env = %d %s", r.status, r.body)
	}
	kids := descendants(cmd.Process.Pid)
	if len(kids) < 2 {
		t.Fatalf("descendants of the sandbox = %v, want the supervisor and a workerd", kids)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var alive []string
		for _, pid := range kids {
			if processAlive(pid) {
				alive = append(alive, strconv.Itoa(pid)+" "+cmdline(pid))
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range kids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("after kill -9 of the sandbox these outlived it: %v", alive)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		p, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.ReplaceAll(string(b), "\x00", " ")
}
