package creds

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/joho/godotenv"
)

// EnvFile is the name of the git-ignored file, at the repository root, that holds tokens on a laptop.
const EnvFile = ".env.deploy"

// redacted is what every printable form of a Secret shows.
const redacted = "[REDACTED]"

// Secret is a credential. Printing it, formatting it with any verb, marshalling it to JSON or
// logging it with slog shows a placeholder, so a token cannot reach output by accident.
type Secret struct{ value string }

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the credential. Call it only where the value goes into a child process's
// environment or an API client's Authorization header.
func (s Secret) Reveal() string { return s.value }

// Empty reports whether no value is held.
func (s Secret) Empty() bool { return s.value == "" }

// String redacts.
func (s Secret) String() string { return redacted }

// GoString redacts %#v too.
func (s Secret) GoString() string { return redacted }

// Format redacts every fmt verb, including %v of a struct that holds a Secret.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts (encoding/json map keys, YAML, slog's text handler).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue redacts in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// VarName is the environment variable that holds the token of tenant.
func VarName(tenant string) string {
	return "CLOUDFLARE_API_TOKEN_" + strings.ToUpper(strings.ReplaceAll(tenant, "-", "_"))
}

// ErrMissing is matched (errors.Is) by the error Token returns when no token is configured.
var ErrMissing = errors.New("API token not set")

// Source says where a token was found, for messages that name it without showing it.
type Source string

// The places a token can come from.
const (
	FromEnv  Source = "environment"
	FromFile Source = EnvFile
)

// Token is a tenant's token and where it came from.
type Token struct {
	Var    string
	Value  Secret
	Source Source
}

// Lookup reads one environment variable; os.LookupEnv in production, a map in tests.
type Lookup func(string) (string, bool)

// Find returns the token of tenant: from lookup first, else from root/.env.deploy.
// A missing token is an error naming the variable and the file; a malformed file is an error
// naming the file. Neither error carries any token value.
func Find(tenant, root string, lookup Lookup) (Token, error) {
	name := VarName(tenant)
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
		return Token{Var: name, Value: NewSecret(strings.TrimSpace(v)), Source: FromEnv}, nil
	}
	path := filepath.Join(root, EnvFile)
	vals, err := godotenv.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// fall through to the missing-token error
	case err != nil:
		// godotenv's parse errors quote the offending line, which may hold a token: keep only the file.
		return Token{}, fmt.Errorf("credentials for tenant %s: %s is not a valid dotenv file (lines must be NAME=value); fix it or set %s in the environment", tenant, path, name)
	default:
		if v := strings.TrimSpace(vals[name]); v != "" {
			return Token{Var: name, Value: NewSecret(v), Source: FromFile}, nil
		}
	}
	return Token{}, fmt.Errorf("credentials for tenant %s: %w: set %s in the environment or add %s=<token> to %s (see .env.deploy.example)",
		tenant, ErrMissing, name, name, path)
}
