package sandbox

import (
	"math"
	"net/http"
	"slices"
	"strings"
)

func (s *Server) listDeployments(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	out := make([]Deployment, 0, len(sc.Deployments))
	for _, d := range sc.Deployments {
		out = append(out, d.clone())
	}
	return map[string]any{"deployments": out}, nil
}

func (s *Server) getDeployment(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	for _, d := range sc.Deployments {
		if d.ID == c.r.PathValue("deployment") {
			return d.clone(), nil
		}
	}
	return nil, errf(http.StatusNotFound, codeScriptNotFound, "deployment %s of the Worker %s does not exist", c.r.PathValue("deployment"), sc.Name)
}

func (s *Server) deleteDeployment(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	id := c.r.PathValue("deployment")
	i := slices.IndexFunc(sc.Deployments, func(d *Deployment) bool { return d.ID == id })
	switch {
	case i < 0:
		return nil, errf(http.StatusNotFound, codeScriptNotFound, "deployment %s of the Worker %s does not exist", id, sc.Name)
	case i == 0:
		return nil, errf(http.StatusBadRequest, codeBadRequest, "deployment %s is the current deployment of %s and cannot be deleted", id, sc.Name)
	}
	sc.Deployments = slices.Delete(sc.Deployments, i, i+1)
	return nil, nil
}

type deploymentRequest struct {
	Strategy    string              `json:"strategy"`
	Versions    []DeploymentVersion `json:"versions"`
	Annotations map[string]string   `json:"annotations"`
}

func (s *Server) postDeployment(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var req deploymentRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validateDeployment(sc, &req); err != nil {
		return nil, err
	}
	if c.r.URL.Query().Get("force") != "true" {
		if changed := secretsChangedSince(sc, req.Versions); len(changed) > 0 {
			return nil, errf(http.StatusBadRequest, codeSecretsChanged, "The following secrets have changed: %s", strings.Join(changed, ", "))
		}
	}
	ann := map[string]string{}
	if msg, ok := req.Annotations["workers/message"]; ok {
		ann["workers/message"] = msg
	}
	if isRollback(sc, req.Versions) {
		ann["workers/triggered_by"] = "rollback"
	}
	d := s.deployLocked(sc, sourceOf(c.r), req.Versions, ann)
	return s.liveDeploymentAnswer(d), nil
}

func validateDeployment(sc *scriptState, req *deploymentRequest) error {
	if req.Strategy != "" && req.Strategy != "percentage" {
		return errf(http.StatusBadRequest, codeBadRequest, "deployment strategy %q is not supported; use \"percentage\"", req.Strategy)
	}
	if n := len(req.Versions); n < 1 || n > 2 {
		return errf(http.StatusBadRequest, codeBadRequest, "a deployment has 1 or 2 versions, got %d", n)
	}
	sum := 0.0
	for i, dv := range req.Versions {
		if sc.version(dv.VersionID) == nil {
			return errf(http.StatusBadRequest, codeBadRequest, "version %s of the Worker %s does not exist", dv.VersionID, sc.Name)
		}
		if dv.Percentage < 0 || dv.Percentage > 100 {
			return errf(http.StatusBadRequest, codeBadRequest, "version %s: percentage %v is outside 0-100", dv.VersionID, dv.Percentage)
		}
		if i > 0 && req.Versions[0].VersionID == dv.VersionID {
			return errf(http.StatusBadRequest, codeBadRequest, "version %s appears twice in the deployment", dv.VersionID)
		}
		sum += dv.Percentage
	}
	if math.Abs(sum-100) > 0.001 {
		return errf(http.StatusBadRequest, codeBadRequest, "deployment percentages add up to %v, they must add up to 100", sum)
	}
	return nil
}

// secretsChangedSince names the secrets that differ between the script now and the versions
// about to serve traffic: deploying such a version would silently change its secrets.
func secretsChangedSince(sc *scriptState, dvs []DeploymentVersion) []string {
	now := sc.secretDigests()
	changed := map[string]bool{}
	for _, dv := range dvs {
		if dv.Percentage <= 0 {
			continue
		}
		then := sc.version(dv.VersionID).SecretDigests
		for name, d := range now {
			if then[name] != d {
				changed[name] = true
			}
		}
		for name := range then {
			if _, ok := now[name]; !ok {
				changed[name] = true
			}
		}
	}
	return sortedKeys(changed)
}

// isRollback: one version at 100% that is older than every version serving now.
func isRollback(sc *scriptState, dvs []DeploymentVersion) bool {
	cur := sc.live()
	if cur == nil || len(dvs) != 1 {
		return false
	}
	target := sc.version(dvs[0].VersionID)
	for _, dv := range cur.Versions {
		if v := sc.version(dv.VersionID); v == nil || v.Number <= target.Number {
			return false
		}
	}
	return true
}
