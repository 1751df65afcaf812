// Package wrangler is the only place that starts the wrangler CLI.
//
// Every run gets an environment built from scratch (never our own), its own HOME and TMPDIR
// under a scratch folder, an empty working directory and a fresh ND-JSON output file, so that
// one tenant's token, account id or cached state can never reach another tenant's run and
// wrangler never reaches for the internet on its own (metrics, update checks, error reports).
// Results are read from wrangler's ND-JSON output file rather than scraped from stdout, and
// everything captured or shown has ANSI colour stripped and the token removed.
//
// Cancelling the context stops the whole process group (wrangler starts esbuild and workerd
// children): SIGTERM first, SIGKILL after a grace period. A run starts node on wrangler's
// cli.js itself rather than the .bin launcher, which would start a second node: the
// parent-death signal (Linux) then lands on the process that talks to Cloudflare, so a kill -9
// of our process cannot leave an upload finishing on its own (esbuild exits with its node).
package wrangler
