package cfapi

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels matched with errors.Is against the errors this package returns.
var (
	// ErrNotFound: the script, version or resource does not exist (codes 10007, 10090, or 404).
	ErrNotFound = errors.New("not found on Cloudflare")
	// ErrNotDeployed: the Worker does not exist or has no deployment yet.
	ErrNotDeployed = errors.New("worker is not deployed")
	// ErrUnauthorized: the token is missing, invalid, or not valid for this account.
	ErrUnauthorized = errors.New("token refused by Cloudflare")
	// ErrRateLimited: Cloudflare kept answering 429 past the wait deadline.
	ErrRateLimited = errors.New("rate limited by Cloudflare")
	// ErrBudgetExhausted: the local per-token budget has no room before the context deadline.
	ErrBudgetExhausted = errors.New("per-token API request budget exhausted")
)

// Cloudflare error codes this package gives a meaning to.
const (
	CodeWorkerNotFound    = 10007
	CodeServiceNotFound   = 10090
	CodeAuthError         = 10000
	CodeAuthInvalid       = 9109
	CodeRateLimited       = 971
	CodeSecretsChanged    = 10220
	CodeLatestNotDeployed = 10215
)

// APIError is a refused Cloudflare API call: an HTTP status of 400 or more, or any answer whose
// envelope says "success": false. It never holds the token.
type APIError struct {
	Method string
	// Path is the API path below the base URL, without the query.
	Path string
	// Status is the HTTP status (200 when only the envelope said false).
	Status   int
	Errors   []ErrorDetail
	Messages []string
}

// ErrorDetail is one entry of the envelope's "errors".
type ErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Code is the first Cloudflare error code, or 0 when the answer carried none.
func (e *APIError) Code() int {
	if len(e.Errors) == 0 {
		return 0
	}
	return e.Errors[0].Code
}

// HasCode reports whether any of the errors carries code.
func (e *APIError) HasCode(code int) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cloudflare api: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	for _, d := range e.Errors {
		fmt.Fprintf(&b, "; %s [code %d]", d.Message, d.Code)
	}
	for _, m := range e.Messages {
		fmt.Fprintf(&b, "; %s", m)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch {
	case errors.Is(e, ErrUnauthorized):
		return "check that the tenant's CLOUDFLARE_API_TOKEN_<TENANT> belongs to this account and has Workers Scripts permission"
	case errors.Is(e, ErrRateLimited):
		return "the account's API budget is spent; wait a few minutes or lower -parallel"
	}
	return ""
}

// Is lets errors.Is match the sentinels by Cloudflare code or HTTP status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.HasCode(CodeWorkerNotFound) || e.HasCode(CodeServiceNotFound) || e.Status == 404
	case ErrUnauthorized:
		return e.HasCode(CodeAuthError) || e.HasCode(CodeAuthInvalid) || e.Status == 401 || e.Status == 403
	case ErrRateLimited:
		return e.HasCode(CodeRateLimited) || e.Status == 429
	}
	return false
}
