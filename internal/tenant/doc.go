// Package tenant loads tenants/<name>/ (tenant.config.json and wrangler.jsonc) and resolves
// the effective wrangler configuration of one environment the way wrangler 4.63.0 does.
//
// Every other package reaches tenant files through here: names are checked before any file is
// opened (ValidName), files are size-capped and refused when empty or binary, and every parsed
// file (a jsonc.Document) keeps its original bytes so that a JSON pointer maps back to line:column of
// what the user wrote (comments and trailing commas included).
package tenant
