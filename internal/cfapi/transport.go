package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/option"
)

// maxBody bounds what one answer may hold; a Worker bundle is at most 10 MiB compressed.
const maxBody = 64 << 20

// pacer is the one place where requests are paced, retried and judged. It runs as a
// cloudflare-go middleware with the SDK's own retries off, so there is exactly one retry
// policy and one translation of answers into errors.
type pacer struct {
	log        *slog.Logger
	budget     *slidingWindow
	timeout    time.Duration // per attempt
	maxRetries int           // for 5xx and network errors on reads
	rateWait   time.Duration // total time one call may spend waiting out 429s
	basePath   string        // "/client/v4", stripped from paths in errors and logs
	token      string        // only to scrub it from anything the server echoes back
	sleep      func(context.Context, time.Duration) error
}

var _ option.Middleware = (&pacer{}).middleware

func (p *pacer) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	ctx := req.Context()
	path := strings.TrimPrefix(req.URL.Path, p.basePath)
	var waited429 time.Duration
	for attempt := 0; ; attempt++ {
		if err := p.budget.take(ctx); err != nil {
			return nil, fmt.Errorf("cloudflare api: %s %s: %w", req.Method, path, err)
		}
		start := time.Now()
		res, body, err := p.once(req, next, attempt)
		took := time.Since(start)
		if err != nil {
			p.log.Debug("cloudflare api", "method", req.Method, "path", path, "attempt", attempt+1, "err", err, "took", took)
			if ctx.Err() != nil || attempt >= p.retriesFor(req) {
				return nil, fmt.Errorf("cloudflare api: %s %s: %w", req.Method, path, p.scrubErr(err))
			}
			if err := p.sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		p.log.Debug("cloudflare api", "method", req.Method, "path", path, "status", res.StatusCode, "attempt", attempt+1, "took", took)

		switch {
		case res.StatusCode == http.StatusTooManyRequests:
			wait := retryAfter(res.Header, attempt)
			if waited429+wait > p.rateWait || !fitsDeadline(ctx, wait) {
				return nil, p.apiError(req.Method, path, res, body)
			}
			p.log.Info("cloudflare api rate limited; waiting", "path", path, "wait", wait)
			waited429 += wait
			if err := p.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case res.StatusCode >= 500 && attempt < p.retriesFor(req):
			wait := backoff(attempt)
			if h := retryAfter(res.Header, -1); h > 0 && h < 30*time.Second {
				wait = h
			}
			if !fitsDeadline(ctx, wait) {
				return nil, p.apiError(req.Method, path, res, body)
			}
			if err := p.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case res.StatusCode >= 400 && req.Method == http.MethodGet && attempt < p.retriesFor(req) && notYetReadable(body):
			// A version read a moment after it was made may not be readable yet (100146):
			// read-after-write, which passes once Cloudflare's replicas catch up.
			if err := p.sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		case res.StatusCode >= 400:
			return nil, p.apiError(req.Method, path, res, body)
		}
		if isJSON(res.Header) {
			var env envelope
			if json.Unmarshal(body, &env) == nil && env.Success != nil && !*env.Success {
				return nil, p.apiError(req.Method, path, res, body)
			}
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		res.ContentLength = int64(len(body))
		return res, nil
	}
}

// once sends one attempt under its own timeout and reads the whole body, so that the
// timeout covers the transfer and the caller gets a body that outlives the attempt.
func (p *pacer) once(req *http.Request, next option.MiddlewareNext, attempt int) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(req.Context(), p.timeout)
	defer cancel()
	r := req.Clone(ctx)
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, nil, err
		}
		r.Body = b
	}
	r.Header.Set("X-Stainless-Retry-Count", strconv.Itoa(attempt))
	res, err := next(r)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return res, body, nil
}

// retriesFor: only reads and idempotent writes (DeployVersion) are repeated after a 5xx or a
// network error; any other write may have happened even though the answer was lost.
func (p *pacer) retriesFor(req *http.Request) int {
	if req.Method == http.MethodGet || req.Method == http.MethodHead || req.Context().Value(idempotentKey{}) != nil {
		return p.maxRetries
	}
	return 0
}

type envelope struct {
	Success  *bool             `json:"success"`
	Errors   []ErrorDetail     `json:"errors"`
	Messages []json.RawMessage `json:"messages"`
}

func (p *pacer) apiError(method, path string, res *http.Response, body []byte) error {
	e := &APIError{Method: method, Path: path, Status: res.StatusCode}
	var env envelope
	if json.Unmarshal(body, &env) == nil {
		for _, d := range env.Errors {
			d.Message = p.scrub(d.Message)
			e.Errors = append(e.Errors, d)
		}
		for _, m := range env.Messages {
			var s string
			if json.Unmarshal(m, &s) != nil {
				var obj struct {
					Message string `json:"message"`
				}
				_ = json.Unmarshal(m, &obj)
				s = obj.Message
			}
			if s != "" {
				e.Messages = append(e.Messages, p.scrub(s))
			}
		}
	} else if len(body) > 0 {
		snippet := string(body)
		if len(snippet) > 100 {
			snippet = snippet[:100]
		}
		e.Messages = append(e.Messages, "malformed answer: "+p.scrub(snippet))
	}
	return e
}

func (p *pacer) scrub(s string) string {
	if p.token == "" {
		return s
	}
	return strings.ReplaceAll(s, p.token, "[token]")
}

func (p *pacer) scrubErr(err error) error {
	if p.token != "" && strings.Contains(err.Error(), p.token) {
		return errors.New(p.scrub(err.Error()))
	}
	return err
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds or an HTTP date). Without either
// it backs off 1 s, 2 s, 4 s… up to 30 s; attempt < 0 means "only the header".
func retryAfter(h http.Header, attempt int) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0)
		}
	}
	if attempt < 0 {
		return 0
	}
	return min(time.Second<<min(attempt, 5), 30*time.Second)
}

// backoff for 5xx and network errors: 250 ms, 500 ms, 1 s, … capped at 4 s.
func backoff(attempt int) time.Duration {
	return min(250*time.Millisecond<<min(attempt, 4), 4*time.Second)
}

func fitsDeadline(ctx context.Context, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Now().Add(wait).Before(dl)
}

// codeNotYetReadable is Cloudflare's answer to reading a version created a moment before.
const codeNotYetReadable = 100146

func notYetReadable(body []byte) bool {
	var env envelope
	if json.Unmarshal(body, &env) != nil {
		return false
	}
	for _, e := range env.Errors {
		if e.Code == codeNotYetReadable {
			return true
		}
	}
	return false
}

func isJSON(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
