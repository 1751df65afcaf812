package creds

import "fmt"

// SandboxTokens gives the sandbox's token for an account id. It is nil when a run talks to
// real Cloudflare (or to an API named by CLOUDFLARE_API_BASE_URL), and set when it talks to
// this checkout's sandbox.
type SandboxTokens func(accountID string) (string, bool)

// FromSandbox is the Source of a token the sandbox issued.
const FromSandbox Source = "sandbox"

// For is the one rule for which token a run uses for a tenant. With a sandbox, the sandbox's
// token for the account, and an error when it has none: the tenant's real token is never
// sent to a sandbox (a rehearsal must not need, or leak, a production credential). Without
// one, the tenant's own token from the environment or .env.deploy (Find).
func For(tenant, accountID, root string, lookup Lookup, sandbox SandboxTokens) (Token, error) {
	if sandbox == nil {
		return Find(tenant, root, lookup)
	}
	if v, ok := sandbox(accountID); ok && v != "" {
		return Token{Var: VarName(tenant), Value: NewSecret(v), Source: FromSandbox}, nil
	}
	return Token{}, fmt.Errorf("credentials for tenant %s: the sandbox has no account %s, and a real token is never sent to the sandbox; restart it (`go tool mage sandbox:stop` then `sandbox:start`) so it picks up tenants/, or fix account_id",
		tenant, accountID)
}
