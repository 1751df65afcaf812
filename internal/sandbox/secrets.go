package sandbox

import (
	"net/http"
	"net/url"
	"slices"
)

const codeSecretNotFound = 10056

type secretJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (s *Server) listSecrets(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	out := make([]secretJSON, 0, len(sc.Secrets))
	for _, name := range sortedKeys(sc.Secrets) {
		out = append(out, secretJSON{Name: name, Type: sc.Secrets[name].Type})
	}
	return out, nil
}

// secretName reads {secret}; with ?url_encoded=true the name arrives percent-encoded once more.
func secretName(c *call) string {
	name := c.r.PathValue("secret")
	if c.r.URL.Query().Get("url_encoded") == "true" {
		if dec, err := url.PathUnescape(name); err == nil {
			name = dec
		}
	}
	return name
}

func (s *Server) getSecret(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	name := secretName(c)
	sec, ok := sc.Secrets[name]
	if !ok {
		return nil, errf(http.StatusNotFound, codeSecretNotFound, "the Worker %s has no secret named %s", sc.Name, name)
	}
	return s.liveSecretAnswer(secretJSON{Name: name, Type: sec.Type}), nil
}

// putSecret sets a secret the way Cloudflare does for a deployed Worker: a new version with
// the same code and bindings, triggered_by "secret", deployed at once to 100%.
func (s *Server) putSecret(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body struct {
		Name string `json:"name"`
		Text string `json:"text"`
		Type string `json:"type"`
	}
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	if body.Name == "" {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "a secret needs a name")
	}
	// The schema requires the type (wrangler and cloudflare-go always send it).
	if body.Type != "secret_text" && body.Type != "secret_key" {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "secret type %q is not supported; use \"secret_text\"", body.Type)
	}
	if err := latestIsDeployed(sc); err != nil {
		return nil, err
	}
	s.setSecretLocked(sc, body.Name, body.Type, body.Text)
	s.secretVersionLocked(sourceOf(c.r), sc)
	return secretJSON{Name: body.Name, Type: sc.Secrets[body.Name].Type}, nil
}

func (s *Server) deleteSecret(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	name := secretName(c)
	if _, ok := sc.Secrets[name]; !ok {
		return nil, errf(http.StatusNotFound, codeSecretNotFound, "the Worker %s has no secret named %s", sc.Name, name)
	}
	if err := latestIsDeployed(sc); err != nil {
		return nil, err
	}
	delete(sc.Secrets, name)
	s.secretVersionLocked(sourceOf(c.r), sc)
	// The schema leaves this result untyped; the live API answers null, as here.
	return nil, nil
}

func (s *Server) secretVersionLocked(source string, sc *scriptState) {
	v := s.derivedVersionLocked(sc, sc.liveVersion(), source, "secret")
	s.deployLocked(sc, source, []DeploymentVersion{{VersionID: v.ID, Percentage: 100}}, map[string]string{"workers/triggered_by": "secret"})
}

// latestIsDeployed refuses secret edits while a newer, undeployed version or a split is in
// place (Cloudflare's 10215), because the edit would otherwise deploy code nobody chose.
func latestIsDeployed(sc *scriptState) error {
	d := sc.live()
	if d == nil || len(sc.Versions) == 0 ||
		!slices.Equal(d.Versions, []DeploymentVersion{{VersionID: sc.Versions[0].ID, Percentage: 100}}) {
		return errf(http.StatusBadRequest, codeSecretNotDeploy,
			"Secret edit failed. The latest version of the Worker %s is not deployed at 100%%; deploy it (wrangler versions deploy) or use wrangler versions secret put.", sc.Name)
	}
	return nil
}
