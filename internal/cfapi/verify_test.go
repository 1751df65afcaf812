package cfapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
)

// Account tokens verify at the account endpoint in one request; user tokens (prefixed or
// not) at the user endpoint; a token of another account is told apart from an invalid one.
func TestVerifyTokenKinds(t *testing.T) {
	s, err := sandbox.New(sandbox.Options{Accounts: []sandbox.Account{
		{ID: testAccount, Name: "A", Subdomain: "verify-a", Token: "cfat_account-token-0001"},
		{ID: otherAcct, Name: "B", Subdomain: "verify-b", Token: "cfut_user-token-0002"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	base := ts.URL + "/client/v4"
	ctx := context.Background()
	if err := s.MutateResources(sandbox.ResourceMutation{AccountID: otherAcct, Op: "set_token", Kind: sandbox.TokenUser}); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, base, "cfat_account-token-0001", nil)
	before := s.RequestCount("cfat_account-token-0001")
	st, err := c.VerifyToken(ctx)
	if err != nil || st.Kind != TokenKindAccount || st.Status != "active" || s.RequestCount("cfat_account-token-0001")-before != 1 {
		t.Fatalf("account token: %+v %v", st, err)
	}

	u, err := New(Config{BaseURL: base, Token: "cfut_user-token-0002", AccountID: otherAcct})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = u.VerifyToken(ctx); err != nil || st.Kind != TokenKindUser {
		t.Fatalf("user token: %+v %v", st, err)
	}

	// An unprefixed user token: the account endpoint refuses it, the user endpoint accepts.
	if err := s.MutateResources(sandbox.ResourceMutation{AccountID: testAccount, Op: "set_token", Kind: sandbox.TokenUser}); err != nil {
		t.Fatal(err)
	}
	legacy, err := New(Config{BaseURL: base, Token: "cfat_account-token-0001", AccountID: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = legacy.VerifyToken(ctx); err == nil {
		t.Fatal("a cfat_ token was tried as a user token")
	}

	// Account A's token used for account B: valid, but another account's.
	wrong, err := New(Config{BaseURL: base, Token: s.Token(testAccount), AccountID: otherAcct})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MutateResources(sandbox.ResourceMutation{AccountID: testAccount, Op: "set_token", Kind: sandbox.TokenAccount}); err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.VerifyToken(ctx); !errors.Is(err, ErrForeignAccount) {
		t.Fatalf("another account's token: %v, want ErrForeignAccount", err)
	}
	bogus, err := New(Config{BaseURL: base, Token: "not-a-token-at-all", AccountID: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bogus.VerifyToken(ctx); err == nil || errors.Is(err, ErrForeignAccount) {
		t.Fatalf("an invalid token: %v", err)
	}
}
