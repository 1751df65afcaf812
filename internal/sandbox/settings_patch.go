package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// settingsPatch is the "settings" part of PATCH /settings (cloudflare-go's
// ScriptAndVersionSettings.Edit). Absent fields stay as they are.
type settingsPatch struct {
	Annotations        map[string]string `json:"annotations"`
	Bindings           *[]Binding        `json:"bindings"`
	CompatibilityDate  *string           `json:"compatibility_date"`
	CompatibilityFlags *[]string         `json:"compatibility_flags"`
	UsageModel         *string           `json:"usage_model"`
	Limits             json.RawMessage   `json:"limits"`
	Placement          json.RawMessage   `json:"placement"`
	Migrations         *migrations       `json:"migrations"`
	BindingsInherit    string            `json:"bindings_inherit"`
	scriptLevelPatch
}

// scriptLevelPatch is what both PATCH /settings and PATCH /script-settings may change without
// a new version. Absent fields stay as they are.
type scriptLevelPatch struct {
	Logpush       *bool     `json:"logpush"`
	Observability rawField  `json:"observability"`
	TailConsumers rawField  `json:"tail_consumers"`
	Tags          *[]string `json:"tags"`
}

func (p scriptLevelPatch) apply(sc *scriptState) {
	if p.Logpush != nil {
		sc.ScriptSettings.Logpush = *p.Logpush
	}
	if p.Observability.set {
		sc.ScriptSettings.Observability = p.Observability.raw
	}
	if p.TailConsumers.set {
		sc.ScriptSettings.TailConsumers = p.TailConsumers.raw
	}
	if p.Tags != nil {
		sc.Tags = slices.Clone(*p.Tags)
	}
}

// patchSettings changes settings the way Cloudflare does: versioned settings (bindings,
// compatibility, limits) make a new version from the live one, deployed at once to 100%;
// script-level ones change in place.
func (s *Server) patchSettings(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	p, err := readSettingsPatch(c.r)
	if err != nil {
		return nil, err
	}
	versioned := p.Bindings != nil || p.CompatibilityDate != nil || p.CompatibilityFlags != nil ||
		p.UsageModel != nil || p.Limits != nil || p.Placement != nil || p.Annotations != nil || p.Migrations != nil
	if versioned {
		// Migrations first: a refused old_tag changes nothing, and the new version carries
		// the new tag.
		oldTag := sc.MigrationTag
		if err := applyMigrations(sc, p.Migrations); err != nil {
			return nil, err
		}
		restoreTag := true
		defer func() {
			if restoreTag {
				sc.MigrationTag = oldTag
			}
		}()
		next := sc.liveVersion().clone()
		var secrets []Binding // set only once the whole patch is known to be valid
		if p.Bindings != nil {
			var bs []Binding
			for _, b := range *p.Bindings {
				switch b.Type() {
				case "secret_text", "secret_key":
					secrets = append(secrets, b)
				case "inherit":
					i := slices.IndexFunc(next.Bindings, func(x Binding) bool { return x.Name() == b.Name() })
					switch {
					case i >= 0:
						bs = append(bs, maps.Clone(next.Bindings[i]))
					case p.BindingsInherit == "strict" && next.SecretDigests[b.Name()] == "":
						return nil, errf(http.StatusBadRequest, codeBadRequest, "binding %s inherits from the live version, which has no such binding (bindings_inherit is strict)", b.Name())
					}
					// Otherwise dropped, as Cloudflare does; an inherited secret carries over
					// by itself, secrets live on the script.
				default:
					bs = append(bs, maps.Clone(b))
				}
			}
			next.Bindings = bs
		}
		if p.CompatibilityDate != nil {
			next.CompatibilityDate = *p.CompatibilityDate
		}
		if p.CompatibilityFlags != nil {
			next.CompatibilityFlags = append([]string{}, *p.CompatibilityFlags...)
		}
		if p.UsageModel != nil {
			next.UsageModel = *p.UsageModel
		}
		if p.Limits != nil {
			next.Limits = p.Limits
		}
		if p.Placement != nil {
			next.Placement = p.Placement
		}
		for _, b := range secrets {
			text, _ := b["text"].(string)
			s.setSecretLocked(sc, b.Name(), b.Type(), text)
		}
		restoreTag = false
		v := s.derivedVersionLocked(sc, &next, sourceOf(c.r), "")
		for k, val := range p.Annotations {
			if k != "workers/triggered_by" {
				v.Annotations[k] = val
			}
		}
		s.deployLocked(sc, sourceOf(c.r), []DeploymentVersion{{VersionID: v.ID, Percentage: 100}}, nil)
	}
	p.apply(sc)
	return s.getSettings(c)
}

// readSettingsPatch accepts the multipart form cloudflare-go sends (a "settings" part) and,
// for convenience, a plain JSON body.
func readSettingsPatch(r *http.Request) (*settingsPatch, error) {
	p := &settingsPatch{}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if err := json.NewDecoder(r.Body).Decode(p); err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "settings: body is not JSON: %v", err)
		}
		return p, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "settings: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "settings: the form has no settings part")
		}
		if err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "settings: broken multipart body: %v", err)
		}
		if part.FormName() != "settings" {
			continue
		}
		if err := json.NewDecoder(part).Decode(p); err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "settings part is not JSON: %v", err)
		}
		return p, nil
	}
}
