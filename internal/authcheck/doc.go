// Package authcheck answers, per tenant, the three questions an operator has about
// credentials before a deploy or during an incident: is the tenant's token set (and in which
// variable), does Cloudflare accept it (/user/tokens/verify), and does it reach the tenant's
// own account. It names variables, never values.
package authcheck
