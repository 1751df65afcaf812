// Package tenant loads tenants/<name>/ (tenant.config.json and wrangler.jsonc) and resolves
// the effective wrangler configuration of one environment the way wrangler 4.63.0 does.
//
// The tools reach tenant files through here (the sandbox host alone reads account and resource
// ids itself, so that a tenant being edited does not stop the sandbox from starting): names
// are parsed before any file is opened (ParseName, ValidName), files are size-capped and refused when empty or binary, and every parsed
// file (a jsonc.Document) keeps its original bytes so that a JSON pointer maps back to line:column of
// what the user wrote (comments and trailing commas included).
package tenant
