package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The account resources a preflight checks before a deploy: KV namespaces, Vectorize indexes
// and Durable Object namespaces, plus how the account's token verifies. KV and Vectorize are
// seeded from the tenants' configs when the sandbox starts (Account.KVNamespaces,
// Account.VectorizeIndexes), so a fresh sandbox is a ready account; the control API deletes
// them to make it unready. Durable Object namespaces are not seeded: on Cloudflare they come
// into being when a Worker's migration creates the class, so the sandbox derives them from
// the uploaded versions' own-class bindings.

// KVNamespace is one Workers KV namespace of an account.
type KVNamespace struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// VectorizeIndex is one Vectorize (v2) index of an account.
type VectorizeIndex struct {
	Name       string `json:"name"`
	Dimensions int    `json:"dimensions"`
	Metric     string `json:"metric"`
}

// Token kinds: Cloudflare verifies account-owned tokens under /accounts/{id}/tokens/verify
// and user tokens under /user/tokens/verify; each endpoint refuses the other kind (code 1000).
const (
	TokenAccount = "account"
	TokenUser    = "user"
)

// resourceState is kept per account in the state file.
type resourceState struct {
	KV        map[string]*kvState        `json:"kv"`        // by id
	Vectorize map[string]*vectorizeState `json:"vectorize"` // by name
	// DeletedDO lists Durable Object namespace ids removed out of band (their class is then
	// gone even though a version still binds it).
	DeletedDO []string `json:"deleted_do,omitempty"`
	// TokenKind is TokenAccount ("" too) or TokenUser; TokenStatus "" means active.
	TokenKind   string `json:"token_kind,omitempty"`
	TokenStatus string `json:"token_status,omitempty"`
}

type kvState struct {
	Title string `json:"title"`
}

type vectorizeState struct {
	Dimensions int    `json:"dimensions"`
	Metric     string `json:"metric"`
	CreatedOn  string `json:"created_on"`
}

func (a *accountState) res() *resourceState {
	if a.Resources == nil {
		a.Resources = &resourceState{}
	}
	if a.Resources.KV == nil {
		a.Resources.KV = map[string]*kvState{}
	}
	if a.Resources.Vectorize == nil {
		a.Resources.Vectorize = map[string]*vectorizeState{}
	}
	return a.Resources
}

// seedResourcesLocked adds the KV namespaces and Vectorize indexes a tenant config names that
// the account does not have yet. Deleted ones come back only here, at the next start.
func (s *Server) seedResourcesLocked(acc *accountState, a Account) error {
	r := acc.res()
	for _, kv := range a.KVNamespaces {
		if !isHex32(kv.ID) {
			return fmt.Errorf("sandbox: account %s: KV namespace id %q must be 32 lower-case hex characters", a.ID, kv.ID)
		}
		if _, ok := r.KV[kv.ID]; !ok {
			r.KV[kv.ID] = &kvState{Title: orString(kv.Title, kv.ID)}
		}
	}
	for _, ix := range a.VectorizeIndexes {
		if ix.Name == "" {
			return fmt.Errorf("sandbox: account %s: a Vectorize index needs a name", a.ID)
		}
		if _, ok := r.Vectorize[ix.Name]; !ok {
			r.Vectorize[ix.Name] = &vectorizeState{Dimensions: orInt(ix.Dimensions, 768), Metric: orString(ix.Metric, "cosine"), CreatedOn: s.now().UTC().Format(stampLayout)}
		}
	}
	return nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// resourceRoutes registers the resource and token-verify endpoints; h is apiRoutes' helper
// for account-scoped routes, tok its helper for routes any issued token may call.
func (s *Server) resourceRoutes(h, tok func(pattern string, fn apiFunc)) {
	h("GET /accounts/{account}/storage/kv/namespaces", s.listKV)
	h("GET /accounts/{account}/storage/kv/namespaces/{id}", s.getKV)
	h("GET /accounts/{account}/vectorize/v2/indexes", s.listVectorize)
	h("GET /accounts/{account}/vectorize/v2/indexes/{name}", s.getVectorize)
	h("GET /accounts/{account}/workers/durable_objects/namespaces", s.listDONamespaces)
	h("GET /accounts/{account}/tokens/verify", s.verifyAccountToken)
	tok("GET /user/tokens/verify", s.verifyUserToken)
}

// Codes the sandbox answers for missing resources. Cloudflare's exact codes are not in the
// contract; what clients rely on is the 404 status.
const (
	codeKVNotFound        = 10013
	codeVectorizeNotFound = 3000
)

type kvJSON struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	SupportsURLEncoding bool   `json:"supports_url_encoding"`
}

func (s *Server) listKV(c *call) (any, error) {
	page, perPage, err := pageParams(c.r, 20, 100)
	if err != nil {
		return nil, err
	}
	r := c.acct.res()
	ids := sortedKeys(r.KV)
	lo, hi := pageBounds(len(ids), page, perPage)
	out := make([]kvJSON, 0, hi-lo)
	for _, id := range ids[lo:hi] {
		out = append(out, kvJSON{ID: id, Title: r.KV[id].Title, SupportsURLEncoding: true})
	}
	return paged{result: out, info: pageInfo(page, perPage, len(out), len(ids))}, nil
}

func (s *Server) getKV(c *call) (any, error) {
	id := c.r.PathValue("id")
	kv, ok := c.acct.res().KV[id]
	if !ok {
		return nil, errf(http.StatusNotFound, codeKVNotFound, "namespace not found: %s", id)
	}
	return kvJSON{ID: id, Title: kv.Title, SupportsURLEncoding: true}, nil
}

type vectorizeJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Config      struct {
		Dimensions int    `json:"dimensions"`
		Metric     string `json:"metric"`
	} `json:"config"`
	CreatedOn  string `json:"created_on"`
	ModifiedOn string `json:"modified_on"`
}

func vectorizeOut(name string, ix *vectorizeState) vectorizeJSON {
	v := vectorizeJSON{Name: name, CreatedOn: ix.CreatedOn, ModifiedOn: ix.CreatedOn}
	v.Config.Dimensions, v.Config.Metric = ix.Dimensions, ix.Metric
	return v
}

func (s *Server) listVectorize(c *call) (any, error) {
	r := c.acct.res()
	out := make([]vectorizeJSON, 0, len(r.Vectorize))
	for _, n := range sortedKeys(r.Vectorize) {
		out = append(out, vectorizeOut(n, r.Vectorize[n]))
	}
	return out, nil
}

func (s *Server) getVectorize(c *call) (any, error) {
	name := c.r.PathValue("name")
	ix, ok := c.acct.res().Vectorize[name]
	if !ok {
		return nil, errf(http.StatusNotFound, codeVectorizeNotFound, "vectorize.index.not_found: no index named %s", name)
	}
	return vectorizeOut(name, ix), nil
}

type doNamespaceJSON struct {
	ID        string `json:"id"`
	Class     string `json:"class"`
	Name      string `json:"name"`
	Script    string `json:"script"`
	UseSqlite bool   `json:"use_sqlite"`
}

func doNamespaceID(account, script, class string) string {
	h := sha256.Sum256([]byte(account + "/" + script + "/" + class))
	return hex.EncodeToString(h[:16])
}

// doNamespacesLocked derives the account's Durable Object namespaces: one per class a Worker
// binds from its own code in any of its versions (a migration created it then), minus the
// ones deleted out of band. use_sqlite is not known from bindings and reported false.
func doNamespacesLocked(acct *accountState) []doNamespaceJSON {
	deleted := acct.res().DeletedDO
	var out []doNamespaceJSON
	seen := map[string]bool{}
	for _, name := range sortedKeys(acct.Scripts) {
		sc := acct.Scripts[name]
		for _, v := range sc.Versions {
			for _, b := range v.Bindings {
				if b.Type() != "durable_object_namespace" {
					continue
				}
				class, _ := b["class_name"].(string)
				other, _ := b["script_name"].(string)
				if class == "" || (other != "" && other != sc.Name) {
					continue
				}
				id := doNamespaceID(acct.ID, sc.Name, class)
				if seen[id] || slices.Contains(deleted, id) {
					continue
				}
				seen[id] = true
				out = append(out, doNamespaceJSON{ID: id, Class: class, Name: sc.Name + "_" + class, Script: sc.Name})
			}
		}
	}
	return out
}

func (s *Server) listDONamespaces(c *call) (any, error) {
	page, perPage, err := pageParams(c.r, 20, 1000)
	if err != nil {
		return nil, err
	}
	all := doNamespacesLocked(c.acct)
	lo, hi := pageBounds(len(all), page, perPage)
	out := append([]doNamespaceJSON{}, all[lo:hi]...)
	return paged{result: out, info: pageInfo(page, perPage, len(out), len(all))}, nil
}

// verifyAccountToken and verifyUserToken answer as Cloudflare does: each endpoint knows only
// its kind of token and refuses the other with code 1000, which is how wrangler tells the
// kinds apart. The answer carries no permissions; clients probe endpoints for those.
func (s *Server) verifyAccountToken(c *call) (any, error) {
	if kind := c.acct.res().TokenKind; kind == TokenUser {
		return nil, errf(http.StatusUnauthorized, codeInvalidToken, "Invalid API Token")
	}
	return tokenStatusJSON(c.acct), nil
}

func (s *Server) verifyUserToken(c *call) (any, error) {
	if kind := c.acct.res().TokenKind; kind != TokenUser {
		return nil, errf(http.StatusUnauthorized, codeInvalidToken, "Invalid API Token")
	}
	return tokenStatusJSON(c.acct), nil
}

func tokenStatusJSON(acct *accountState) map[string]any {
	return map[string]any{
		"id":         acct.ID[:16] + "0000000000000000",
		"status":     orString(acct.res().TokenStatus, "active"),
		"expires_on": nil,
		"not_before": nil,
	}
}

// ResourceMutation changes an account's resources or token out of band, so tests and
// rehearsals can make an account unready for a deploy.
type ResourceMutation struct {
	AccountID string `json:"account_id"`
	// Op is one of:
	//   delete_kv_namespace      ID
	//   add_kv_namespace         ID, Name (the title)
	//   delete_vectorize_index   Name
	//   add_vectorize_index      Name
	//   delete_do_namespace      Script, Class: the class's namespace is gone
	//   set_token                Kind (account|user), Status (active|disabled|expired)
	Op     string `json:"op"`
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	Script string `json:"script,omitempty"`
	Class  string `json:"class,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Status string `json:"status,omitempty"`
}

// MutateResources applies m and persists the result.
func (s *Server) MutateResources(m ResourceMutation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.w.Accounts[m.AccountID]
	if acct == nil {
		return fmt.Errorf("resources: no account %q in the sandbox", m.AccountID)
	}
	r := acct.res()
	switch m.Op {
	case "delete_kv_namespace":
		if _, ok := r.KV[m.ID]; !ok {
			return fmt.Errorf("resources delete_kv_namespace: account %s has no KV namespace %q", m.AccountID, m.ID)
		}
		delete(r.KV, m.ID)
	case "add_kv_namespace":
		if !isHex32(m.ID) {
			return fmt.Errorf("resources add_kv_namespace: id %q must be 32 lower-case hex characters", m.ID)
		}
		r.KV[m.ID] = &kvState{Title: orString(m.Name, m.ID)}
	case "delete_vectorize_index":
		if _, ok := r.Vectorize[m.Name]; !ok {
			return fmt.Errorf("resources delete_vectorize_index: account %s has no Vectorize index %q", m.AccountID, m.Name)
		}
		delete(r.Vectorize, m.Name)
	case "add_vectorize_index":
		if m.Name == "" {
			return errors.New("resources add_vectorize_index: name is required")
		}
		r.Vectorize[m.Name] = &vectorizeState{Dimensions: 768, Metric: "cosine", CreatedOn: s.stampLocked()}
	case "delete_do_namespace":
		id := doNamespaceID(acct.ID, m.Script, m.Class)
		if !slices.ContainsFunc(doNamespacesLocked(acct), func(d doNamespaceJSON) bool { return d.ID == id }) {
			return fmt.Errorf("resources delete_do_namespace: account %s has no Durable Object namespace for class %q of %q", m.AccountID, m.Class, m.Script)
		}
		r.DeletedDO = append(r.DeletedDO, id)
	case "set_token":
		switch m.Kind {
		case "", TokenAccount, TokenUser:
		default:
			return fmt.Errorf("resources set_token: kind %q is not account or user", m.Kind)
		}
		switch m.Status {
		case "", "active", "disabled", "expired":
		default:
			return fmt.Errorf("resources set_token: status %q is not active, disabled or expired", m.Status)
		}
		if m.Kind != "" {
			r.TokenKind = m.Kind
		}
		if m.Status != "" {
			r.TokenStatus = strings.TrimPrefix(m.Status, "active")
		}
	default:
		return fmt.Errorf("resources: unknown op %q (delete_kv_namespace, add_kv_namespace, delete_vectorize_index, add_vectorize_index, delete_do_namespace, set_token)", m.Op)
	}
	return s.saveLocked()
}

// resourceControlRoutes registers POST /__sandbox/resources (a ResourceMutation) on the
// control API; h is controlRoutes' helper.
func (s *Server) resourceControlRoutes(h func(pattern string, fn func(r *http.Request) (any, error))) {
	h("POST /__sandbox/resources", func(r *http.Request) (any, error) {
		var m ResourceMutation
		if err := decodeControl(r, &m); err != nil {
			return nil, err
		}
		return nil, s.MutateResources(m)
	})
}
