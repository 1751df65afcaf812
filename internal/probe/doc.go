// Package probe asks what runs now: the live health of a tenant/env (the runbook's "verify"
// step, `mage health`, and the last line of `mage deploy:tenant`), through the sandbox's edge
// when the sandbox runs.
package probe
