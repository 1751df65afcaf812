// Package npmdeps makes sure the node packages pinned in package-lock.json (wrangler,
// TypeScript) are installed before a target needs them, so a fresh clone needs no manual
// `npm ci`.
package npmdeps
