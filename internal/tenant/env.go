package tenant

import (
	"errors"
	"fmt"
	"strings"
)

// Env is a deployment environment of a tenant.
type Env string

// The environments every tenant has. Dev is the top level of wrangler.jsonc (run locally with
// wrangler dev); Staging and Production are env.staging and env.production.
const (
	Dev        Env = "dev"
	Staging    Env = "staging"
	Production Env = "production"
)

// Envs lists the environments in promotion order.
var Envs = []Env{Dev, Staging, Production}

// ErrInvalidEnv is returned (wrapped) by ParseEnv.
var ErrInvalidEnv = errors.New("invalid environment")

// ParseEnv accepts exactly dev, staging, production and the alias prod. Nothing is folded or
// trimmed: `Production` or ` production ` is a mistake to point out, not a production deploy.
func ParseEnv(s string) (Env, error) {
	switch s {
	case "dev":
		return Dev, nil
	case "staging":
		return Staging, nil
	case "production", "prod":
		return Production, nil
	}
	hint := ""
	if t := strings.ToLower(strings.TrimSpace(s)); t != s && (t == "dev" || t == "staging" || t == "production" || t == "prod") {
		hint = fmt.Sprintf(" (names are exact: did you mean %q?)", t)
	}
	return "", fmt.Errorf("%w %q: use dev, staging or production (prod)%s", ErrInvalidEnv, s, hint)
}

// WranglerEnv is the value of wrangler's --env flag for e: empty for Dev (the top level).
func (e Env) WranglerEnv() string {
	if e == Dev {
		return ""
	}
	return string(e)
}

// Pointer is the JSON pointer of e's block in wrangler.jsonc ("" is the top level).
func (e Env) Pointer() string {
	if e == Dev {
		return ""
	}
	return "/env/" + string(e)
}

// Label names e's block in messages: "top level (dev)" or "env.staging".
func (e Env) Label() string {
	if e == Dev {
		return "top level (dev)"
	}
	return "env." + string(e)
}

// ErrLocalEnv is returned (wrapped) by ParseCloudEnv for dev.
var ErrLocalEnv = errors.New("dev runs on this machine under wrangler dev")

// ParseCloudEnv is ParseEnv for a command that works on what runs on Cloudflare: dev is
// refused with ErrLocalEnv, followed by why (the command's own reason, starting with "; " or
// " and ", and what to do instead). It is the one place that decides dev is not a cloud
// environment.
func ParseCloudEnv(s, why string) (Env, error) {
	e, err := ParseEnv(s)
	if err != nil {
		return "", err
	}
	if err := e.RequireCloud(why); err != nil {
		return "", err
	}
	return e, nil
}

// RequireCloud is ParseCloudEnv's refusal for an env already parsed: nil for staging and
// production, ErrLocalEnv followed by why for dev.
func (e Env) RequireCloud(why string) error {
	if e == Dev {
		return fmt.Errorf("%w%s", ErrLocalEnv, why)
	}
	return nil
}
