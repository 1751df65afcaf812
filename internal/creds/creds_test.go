package creds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const canary = "canary-token-7f3e9b"

func lookupFrom(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestVarName(t *testing.T) {
	for in, want := range map[string]string{
		"mrrainbowsmoke":       "CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE",
		"acme-eu":              "CLOUDFLARE_API_TOKEN_ACME_EU",
		"rainbowsmokeofficial": "CLOUDFLARE_API_TOKEN_RAINBOWSMOKEOFFICIAL",
	} {
		if got := VarName(in); got != want {
			t.Errorf("VarName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		file       string // contents of .env.deploy; "" = no file
		wantValue  string
		wantSource Source
		wantErr    string
	}{
		{name: "env only", env: map[string]string{"CLOUDFLARE_API_TOKEN_ACME_EU": "from-env"}, wantValue: "from-env", wantSource: FromEnv},
		{name: "env wins over file", env: map[string]string{"CLOUDFLARE_API_TOKEN_ACME_EU": "from-env"},
			file: "CLOUDFLARE_API_TOKEN_ACME_EU=from-file\n", wantValue: "from-env", wantSource: FromEnv},
		{name: "file when env unset", file: "# tokens\nCLOUDFLARE_API_TOKEN_ACME_EU=\"from-file\"\nOTHER=x\n", wantValue: "from-file", wantSource: FromFile},
		{name: "blank env falls to file", env: map[string]string{"CLOUDFLARE_API_TOKEN_ACME_EU": "  "},
			file: "CLOUDFLARE_API_TOKEN_ACME_EU=from-file\n", wantValue: "from-file", wantSource: FromFile},
		{name: "other tenant's token is not ours", file: "CLOUDFLARE_API_TOKEN_ACME=nope\n", wantErr: "CLOUDFLARE_API_TOKEN_ACME_EU"},
		{name: "nothing anywhere", wantErr: "set CLOUDFLARE_API_TOKEN_ACME_EU in the environment"},
		{name: "malformed file", file: "CLOUDFLARE_API_TOKEN_ACME_EU='" + canary + "\n", wantErr: "not a valid dotenv file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(root, EnvFile), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := Find("acme-eu", root, lookupFrom(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), canary) {
					t.Fatalf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Value.Reveal() != tc.wantValue || tok.Source != tc.wantSource || tok.Var != "CLOUDFLARE_API_TOKEN_ACME_EU" {
				t.Fatalf("got %q from %s (%s), want %q from %s", tok.Value.Reveal(), tok.Source, tok.Var, tc.wantValue, tc.wantSource)
			}
		})
	}
}

func TestFindMissingIsErrMissing(t *testing.T) {
	_, err := Find("acme", t.TempDir(), lookupFrom(nil))
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("errors.Is(err, ErrMissing) = false for %v", err)
	}
	if !strings.Contains(err.Error(), EnvFile) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

// TestFindDoesNotTouchOwnEnvironment guards against godotenv.Load creeping in.
func TestFindDoesNotTouchOwnEnvironment(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, EnvFile), []byte("CLOUDFLARE_API_TOKEN_ZZTEST="+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Find("zztest", root, lookupFrom(nil)); err != nil {
		t.Fatal(err)
	}
	if v, ok := os.LookupEnv("CLOUDFLARE_API_TOKEN_ZZTEST"); ok {
		t.Fatalf("Find put the token into the process environment: %q", v)
	}
}

func TestSecretRedactsEverywhere(t *testing.T) {
	s := NewSecret(canary)
	holder := struct {
		Name  string
		Token Secret
		Ptr   *Secret
	}{"x", s, &s}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("t", "token", s, "holder", holder)
	tlog := slog.New(slog.NewTextHandler(&logs, nil))
	tlog.Info("t", "token", s, "ptr", &s)
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder, holder, holder), string(js), logs.String(),
		fmt.Errorf("wrap: %v", s).Error(),
	}
	for _, o := range outs {
		if strings.Contains(o, canary) {
			t.Fatalf("secret leaked: %s", o)
		}
		if !strings.Contains(o, redacted) {
			t.Fatalf("no redaction marker in %s", o)
		}
	}
	if s.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
}
