// Package creds finds the Cloudflare API token of one tenant and keeps it from leaking.
//
// A token is looked up as CLOUDFLARE_API_TOKEN_<TENANT> (tenant upper-cased, '-' -> '_') in the
// process environment first, then in the repository's .env.deploy file. The file is read, never
// loaded: loading would copy every tenant's token into our own environment, and from there into
// every child process. The value travels as a Secret, whose every printable form is redacted;
// only Reveal gives the text, at the one place it enters a child's environment or an API client.
package creds
