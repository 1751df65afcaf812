package tenant

import "time"

// Config is tenant.config.json (schemas/tenant.config.schema.json describes every field).
type Config struct {
	Schema              string          `json:"$schema,omitempty"`
	TenantID            string          `json:"tenant_id"`
	DisplayName         string          `json:"display_name"`
	AccountID           string          `json:"account_id"`
	WorkersDevSubdomain string          `json:"workers_dev_subdomain"`
	HealthCheck         HealthCheck     `json:"health_check"`
	RequiredSecrets     []string        `json:"required_secrets"`
	Features            map[string]bool `json:"features,omitempty"`
	Dev                 DevConfig       `json:"dev"`
}

// HealthCheck says how a deploy decides that a new version is healthy.
type HealthCheck struct {
	// Path of the health endpoint, starting with "/".
	Path string `json:"path"`
	// Expect holds fields the health JSON must carry with exactly these values.
	Expect          map[string]any `json:"expect,omitempty"`
	DeadlineSeconds int            `json:"deadline_seconds"`
}

// Deadline is DeadlineSeconds as a duration.
func (h HealthCheck) Deadline() time.Duration { return time.Duration(h.DeadlineSeconds) * time.Second }

// DevConfig is the local development part of tenant.config.json.
type DevConfig struct {
	Port int `json:"port,omitempty"`
}

// Feature reports whether a feature flag is on.
func (c Config) Feature(name string) bool { return c.Features[name] }
