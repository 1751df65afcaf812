package sandbox

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed edgejs/supervisor.cjs
var supervisorJS []byte

// workerdEdge runs versions in workerd on demand. One Node process (the supervisor) holds one
// Miniflare, that is one workerd process, per running version. Versions start on their first
// request, stop when idle or when the cap needs room, and all stop with the sandbox.
type workerdEdge struct {
	opts    EdgeOptions
	log     *slog.Logger
	dir     string
	tempDir bool

	mu      sync.Mutex
	rts     map[string]*versionRuntime // account/version id -> runtime
	sup     *supervisor
	closed  bool
	stopIdl chan struct{}
	idleWG  sync.WaitGroup
}

// versionRuntime is one version's workerd, running or starting.
type versionRuntime struct {
	key      string
	ready    chan struct{} // closed once url or err is set
	url      *url.URL
	proxy    *httputil.ReverseProxy
	err      error
	failedAt time.Time
	lastUsed time.Time
	active   int
	sup      *supervisor
}

// retryFailedAfter: a version that failed to start keeps failing fast (its code does not
// change), but a failure caused by the machine (no memory, a killed supervisor) heals.
const retryFailedAfter = 10 * time.Second

func newWorkerdEdge(opts EdgeOptions, log *slog.Logger) (*workerdEdge, error) {
	if opts.NodeModules == "" {
		return nil, errors.New("sandbox: the workerd edge needs EdgeOptions.NodeModules (the folder with miniflare); run npm ci, or use the fake edge")
	}
	if _, err := os.Stat(filepath.Join(opts.NodeModules, "miniflare", "package.json")); err != nil {
		return nil, fmt.Errorf("sandbox: the workerd edge needs miniflare in %s (run npm ci): %w", opts.NodeModules, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("sandbox: the workerd edge needs Node.js on PATH (or use the fake edge): %w", err)
	}
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = 8
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 5 * time.Minute
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	e := &workerdEdge{opts: opts, log: log, dir: opts.Dir, rts: map[string]*versionRuntime{}, stopIdl: make(chan struct{})}
	if e.dir == "" {
		d, err := os.MkdirTemp("", "cf-sandbox-edge-")
		if err != nil {
			return nil, fmt.Errorf("sandbox: edge dir: %w", err)
		}
		e.dir, e.tempDir = d, true
	}
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: edge dir %s: %w", e.dir, err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "supervisor.cjs"), supervisorJS, 0o600); err != nil {
		return nil, fmt.Errorf("sandbox: edge supervisor: %w", err)
	}
	e.idleWG.Add(1)
	go e.reapIdle()
	return e, nil
}

// serve proxies r to the runtime of t.version, starting it first if needed.
func (e *workerdEdge) serve(w http.ResponseWriter, r *http.Request, t edgeTarget) {
	rt, err := e.acquire(r.Context(), t)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		writeWorkerError(w, t, err)
		return
	}
	defer e.release(rt)
	rt.proxy.ServeHTTP(w, r)
}

// writeWorkerError answers what Cloudflare answers for a Worker that throws: a 500 with an
// error page (error 1101), here with the start-up error appended for the operator.
func writeWorkerError(w http.ResponseWriter, t edgeTarget, err error) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Cf-Sandbox-Error", "worker-start-failed")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>Worker threw exception | %s.%s.workers.dev | Cloudflare</title></head>\n"+
		"<body><h1>Error 1101</h1><h2>Worker threw exception</h2>\n<p>Version %s of %s could not start.</p>\n<pre>%s</pre>\n</body></html>\n",
		html.EscapeString(t.script.Name), html.EscapeString(t.subdomain), html.EscapeString(t.version.ID), html.EscapeString(t.script.Name),
		html.EscapeString(firstLines(err.Error(), 12)))
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func (e *workerdEdge) acquire(ctx context.Context, t edgeTarget) (*versionRuntime, error) {
	key := t.account + "/" + t.version.ID
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("the sandbox is stopping")
	}
	rt := e.rts[key]
	if rt != nil && (rt.err != nil && time.Since(rt.failedAt) > retryFailedAfter || rt.sup.dead()) {
		delete(e.rts, key) // retry a failure after a while; a dead supervisor took it along
		rt = nil
	}
	if rt == nil {
		sup, err := e.supervisorLocked()
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		e.makeRoomLocked()
		rt = &versionRuntime{key: key, ready: make(chan struct{}), sup: sup}
		e.rts[key] = rt
		opts, err := versionStartMessage(t, e.dir)
		go e.start(rt, opts, err)
	}
	rt.active++
	rt.lastUsed = time.Now()
	e.mu.Unlock()

	select {
	case <-rt.ready:
	case <-ctx.Done():
		e.release(rt)
		return nil, ctx.Err()
	}
	if rt.err != nil {
		e.release(rt)
		return nil, rt.err
	}
	return rt, nil
}

func (e *workerdEdge) release(rt *versionRuntime) {
	e.mu.Lock()
	rt.active--
	rt.lastUsed = time.Now()
	e.mu.Unlock()
}

func (e *workerdEdge) start(rt *versionRuntime, opts *startMessage, buildErr error) {
	err := buildErr
	var u *url.URL
	if err == nil {
		var reply supervisorReply
		reply, err = rt.sup.call(startCall(rt.key, opts), e.opts.StartTimeout)
		if err == nil && !reply.OK {
			err = errors.New(reply.Error)
		}
		if err == nil {
			u, err = url.Parse(reply.URL)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		rt.err, rt.failedAt = err, time.Now()
		e.log.Warn("sandbox edge: version failed to start", "version", rt.key, "err", firstLines(err.Error(), 3))
	} else {
		rt.url = u
		rt.proxy = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.Out.Host = u.Host
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				writeJSON(w, http.StatusBadGateway, healthJSON{Status: "error", Error: "the sandbox lost the version's runtime: " + err.Error()})
			},
		}
		e.log.Info("sandbox edge: version started", "version", rt.key, "url", u.String())
	}
	close(rt.ready)
}

// makeRoomLocked stops least recently used idle runtimes until a new one fits under the cap.
// Runtimes serving a request are never stopped; the cap may be exceeded while all are busy.
func (e *workerdEdge) makeRoomLocked() {
	for len(e.rts) >= e.opts.MaxRunning {
		var idle []*versionRuntime
		for _, rt := range e.rts {
			if rt.active == 0 {
				idle = append(idle, rt)
			}
		}
		if len(idle) == 0 {
			return
		}
		sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
		e.stopLocked(idle[0], "over the cap of running versions")
	}
}

func (e *workerdEdge) stopLocked(rt *versionRuntime, why string) {
	delete(e.rts, rt.key)
	if rt.err != nil {
		return
	}
	e.log.Info("sandbox edge: stopping version", "version", rt.key, "why", why)
	go func() {
		<-rt.ready
		if rt.err == nil {
			_, _ = rt.sup.call(stopCall(rt.key), 30*time.Second)
		}
	}()
}

func (e *workerdEdge) reapIdle() {
	defer e.idleWG.Done()
	tick := time.NewTicker(max(e.opts.IdleTimeout/4, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-e.stopIdl:
			return
		case <-tick.C:
		}
		e.mu.Lock()
		for _, rt := range e.rts {
			if rt.active == 0 && time.Since(rt.lastUsed) > e.opts.IdleTimeout {
				select {
				case <-rt.ready:
					e.stopLocked(rt, "idle")
				default: // still starting
				}
			}
		}
		e.mu.Unlock()
	}
}

// Running lists the keys (account/version id) of the versions whose runtime is up.
func (e *workerdEdge) running() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for k, rt := range e.rts {
		select {
		case <-rt.ready:
			if rt.err == nil {
				out = append(out, k)
			}
		default:
		}
	}
	sort.Strings(out)
	return out
}

// supervisorPID is the running supervisor's pid, 0 when none runs (tests).
func (e *workerdEdge) supervisorPID() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sup == nil || e.sup.dead() {
		return 0
	}
	return e.sup.cmd.Process.Pid
}

// close stops every runtime and the supervisor, and waits for them.
func (e *workerdEdge) close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	sup := e.sup
	e.rts = map[string]*versionRuntime{}
	e.mu.Unlock()
	close(e.stopIdl)
	e.idleWG.Wait()
	var err error
	if sup != nil {
		err = sup.stop(15 * time.Second)
	}
	if e.tempDir {
		err = errors.Join(err, os.RemoveAll(e.dir))
	}
	return err
}

func (e *workerdEdge) supervisorLocked() (*supervisor, error) {
	if e.sup != nil && !e.sup.dead() {
		return e.sup, nil
	}
	if e.sup != nil { // it died: every runtime it held is gone with it
		for k, rt := range e.rts {
			if rt.sup == e.sup {
				delete(e.rts, k)
			}
		}
	}
	sup, err := startSupervisor(e.opts.NodeModules, filepath.Join(e.dir, "supervisor.cjs"), e.log)
	if err != nil {
		return nil, err
	}
	e.sup = sup
	return sup, nil
}

// ---- supervisor process ---------------------------------------------------------------

type supervisor struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *slog.Logger

	mu      sync.Mutex
	waiting map[string]chan supervisorReply
	writeMu sync.Mutex
	done    chan struct{} // closed when the process exited
	exitErr error
}

type supervisorReply struct {
	Op    string `json:"op,omitempty"`
	Key   string `json:"key"`
	OK    bool   `json:"ok"`
	URL   string `json:"url,omitempty"`
	Error string `json:"error,omitempty"`
}

func startSupervisor(nodeModules, script string, log *slog.Logger) (*supervisor, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("sandbox: the workerd edge needs Node.js on PATH: %w", err)
	}
	cmd := exec.Command(node, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules, "NODE_ENV=production", "FORCE_COLOR=0")
	cmd.SysProcAttr = supervisorProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := startLocked(cmd); err != nil {
		return nil, fmt.Errorf("sandbox: start the edge supervisor: %w", err)
	}
	s := &supervisor{cmd: cmd, stdin: stdin, log: log, waiting: map[string]chan supervisorReply{}, done: make(chan struct{})}
	hello := make(chan struct{})
	go s.readReplies(stdout, hello)
	go s.copyLog(stderr)
	go func() {
		s.exitErr = cmd.Wait()
		close(s.done)
		s.mu.Lock()
		for k, ch := range s.waiting {
			ch <- supervisorReply{Key: k, Error: "the edge supervisor exited"}
			delete(s.waiting, k)
		}
		s.mu.Unlock()
	}()
	select {
	case <-hello:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("sandbox: the edge supervisor exited at start (%v); see the sandbox log", s.exitErr)
	case <-time.After(30 * time.Second):
		_ = s.stop(time.Second)
		return nil, errors.New("sandbox: the edge supervisor did not start within 30s")
	}
}

func (s *supervisor) readReplies(r io.Reader, hello chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var rep supervisorReply
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			s.log.Info("sandbox edge", "out", sc.Text())
			continue
		}
		if rep.Op == "hello" {
			close(hello)
			continue
		}
		s.mu.Lock()
		ch := s.waiting[rep.Key]
		delete(s.waiting, rep.Key)
		s.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// copyLog passes the supervisor's and workerd's stderr (the Workers' console output and
// uncaught errors) to the sandbox log.
func (s *supervisor) copyLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			s.log.Info("sandbox edge", "log", line)
		}
	}
}

func (s *supervisor) dead() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// call sends one message and waits for the reply with the same key.
func (s *supervisor) call(msg any, timeout time.Duration) (supervisorReply, error) {
	key := msgKey(msg)
	ch := make(chan supervisorReply, 1)
	s.mu.Lock()
	if s.dead() {
		s.mu.Unlock()
		return supervisorReply{}, errors.New("the edge supervisor is not running")
	}
	s.waiting[key] = ch
	s.mu.Unlock()
	data, err := json.Marshal(msg)
	if err != nil {
		return supervisorReply{}, err
	}
	s.writeMu.Lock()
	_, err = s.stdin.Write(append(data, '\n'))
	s.writeMu.Unlock()
	if err != nil {
		return supervisorReply{}, fmt.Errorf("the edge supervisor: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case rep := <-ch:
		if !rep.OK && rep.Error == "" {
			rep.Error = "the edge supervisor gave no reason"
		}
		return rep, nil
	case <-t.C:
		s.mu.Lock()
		delete(s.waiting, key)
		s.mu.Unlock()
		return supervisorReply{}, fmt.Errorf("no answer from the edge supervisor within %s", timeout)
	}
}

// stop closes the supervisor's stdin, which makes it dispose of every workerd and exit; after
// grace it kills its whole process group.
func (s *supervisor) stop(grace time.Duration) error {
	s.writeMu.Lock()
	_ = s.stdin.Close()
	s.writeMu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	return fmt.Errorf("sandbox: the edge supervisor did not stop within %s and was killed", grace)
}

// ScheduledResult is what firing a cron trigger answered.
type ScheduledResult struct {
	VersionID string `json:"version_id"`
	Status    int    `json:"status"`
	Body      string `json:"body"`
}

// TriggerScheduled fires the scheduled handler of the version that host's traffic picks (as
// Cloudflare's cron would), with cron as the controller's cron. Only the workerd edge runs
// code; the fake edge refuses.
func (s *Server) TriggerScheduled(ctx context.Context, host, cron string) (ScheduledResult, error) {
	if s.edge == nil {
		return ScheduledResult{}, errors.New("the fake edge runs no code; start the sandbox with the workerd edge to fire cron triggers")
	}
	if host == "" || cron == "" {
		return ScheduledResult{}, errors.New(`scheduled needs {"host": "<script>.<subdomain>.workers.dev", "cron": "0 * * * *"}`)
	}
	t := s.resolveEdge(hostOnly(host), "")
	if t.status != 0 {
		return ScheduledResult{}, errors.New(t.errMsg)
	}
	rt, err := s.edge.acquire(ctx, t)
	if err != nil {
		return ScheduledResult{VersionID: t.version.ID}, fmt.Errorf("version %s: %w", t.version.ID, err)
	}
	defer s.edge.release(rt)
	u := *rt.url
	u.Path = "/cdn-cgi/handler/scheduled"
	u.RawQuery = url.Values{"cron": {cron}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ScheduledResult{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ScheduledResult{VersionID: t.version.ID}, fmt.Errorf("version %s: scheduled: %w", t.version.ID, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return ScheduledResult{VersionID: t.version.ID, Status: res.StatusCode, Body: string(body)}, nil
}

// reset stops every runtime and deletes the Workers' KV and Durable Object data.
func (e *workerdEdge) reset() error {
	if _, err := e.stopAll(); err != nil {
		return fmt.Errorf("sandbox reset: %w", err)
	}
	return ResetEdgeData(e.dir)
}

// stopAll stops every running version and says how many.
func (e *workerdEdge) stopAll() (int, error) {
	e.mu.Lock()
	rts := e.rts
	e.rts = map[string]*versionRuntime{}
	e.mu.Unlock()
	n := 0
	for _, rt := range rts {
		<-rt.ready
		if rt.err != nil {
			continue
		}
		if _, err := rt.sup.call(stopCall(rt.key), 30*time.Second); err != nil {
			return n, fmt.Errorf("stop %s: %w", rt.key, err)
		}
		n++
	}
	return n, nil
}

// ResetEdgeData deletes the KV and Durable Object data kept under an edge folder
// (EdgeOptions.Dir), for a reset while no sandbox runs.
func ResetEdgeData(dir string) error {
	if err := os.RemoveAll(filepath.Join(dir, "persist")); err != nil {
		return fmt.Errorf("sandbox reset: edge data: %w", err)
	}
	return nil
}

// StopRuntimes stops every running version of the workerd edge (the next request to each
// starts it again, its KV and Durable Object data intact) and says how many it stopped.
// Benchmarks use it to measure cold starts.
func (s *Server) StopRuntimes() (int, error) {
	if s.edge == nil {
		return 0, nil
	}
	n, err := s.edge.stopAll()
	if err != nil {
		return n, fmt.Errorf("sandbox: %w", err)
	}
	return n, nil
}

// EdgeSupervisorPID is the pid of the Node process holding the workerd runtimes (each
// version's workerd is its child), or 0 when none runs.
func (s *Server) EdgeSupervisorPID() int {
	if s.edge == nil {
		return 0
	}
	return s.edge.supervisorPID()
}
