// Package plugins runs the operator's plugin scripts at fixed events of a deploy: every
// executable file in plugins/<event>/ (project-wide) and then in tenants/<name>/plugins/<event>/,
// each in name order. The contract (working directory, environment, timeout, log) is in
// docs/deployment/plugin-scripts.md; the environment is built from scratch, so a plugin never
// sees a token or anything from .env.deploy.
package plugins
