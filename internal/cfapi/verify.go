package cfapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Token kinds. Cloudflare verifies user tokens at /user/tokens/verify and account-owned
// tokens at /accounts/{id}/tokens/verify; each endpoint refuses the other kind.
const (
	TokenKindUser    = "user"
	TokenKindAccount = "account"
)

// TokenStatus is what token verification says about the token. It carries no permissions:
// Cloudflare does not list them; probe the endpoints a job needs instead.
type TokenStatus struct {
	ID        string `json:"id"`
	Status    string `json:"status"` // active, disabled or expired
	ExpiresOn string `json:"expires_on,omitempty"`
	NotBefore string `json:"not_before,omitempty"`
	// Kind is which endpoint accepted it: TokenKindUser or TokenKindAccount.
	Kind string `json:"kind"`
}

// VerifyToken asks Cloudflare whether the token is valid. A token that verifies at the
// account endpoint also belongs to this client's account. User tokens (prefix cfut_) go to
// the user endpoint; others try the account endpoint first (account tokens, prefix cfat_,
// and the sandbox's) and fall back to the user endpoint when it refuses, for user tokens
// created before the prefixes existed: one request for a prefixed token, at most two else.
func (c *Client) VerifyToken(ctx context.Context) (TokenStatus, error) {
	if strings.HasPrefix(c.token, "cfut_") {
		return c.verifyAt(ctx, "/user/tokens/verify", TokenKindUser)
	}
	st, err := c.verifyAt(ctx, c.accountPath("tokens", "verify"), TokenKindAccount)
	if err == nil || !refusedToken(err) {
		return st, err
	}
	// A 403 (not 401): the account endpoint knew the token, but not for this account.
	var ae *APIError
	forbidden := errors.As(err, &ae) && ae.Status == 403
	if !strings.HasPrefix(c.token, "cfat_") {
		ust, uerr := c.verifyAt(ctx, "/user/tokens/verify", TokenKindUser)
		if uerr == nil {
			return ust, nil
		}
		if !forbidden {
			return TokenStatus{}, fmt.Errorf("%w; as a user token: %w", err, uerr)
		}
	}
	if forbidden {
		return TokenStatus{}, fmt.Errorf("%w: %w", ErrForeignAccount, err)
	}
	return TokenStatus{}, err
}

// ErrForeignAccount: the token authenticates but belongs to another account than the client's.
var ErrForeignAccount = errors.New("the token is valid but belongs to another account")

func (c *Client) verifyAt(ctx context.Context, path, kind string) (TokenStatus, error) {
	var st TokenStatus
	if _, err := c.call(ctx, "GET", path, nil, nil, &st); err != nil {
		return TokenStatus{}, fmt.Errorf("verify token: %w", err)
	}
	st.Kind = kind
	return st, nil
}

// refusedToken: the endpoint did not accept this kind of token (401/403, code 1000 or
// 10000, or 404 where an API has no account endpoint).
func refusedToken(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status == 401 || ae.Status == 403 || ae.Status == 404 || ae.HasCode(1000) || ae.HasCode(CodeAuthError)
}
