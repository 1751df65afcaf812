// Package cfapi reads what is live on Cloudflare for one account: the current deployment of a
// Worker, its versions, bindings, schedules, secret names, routes, domains and the exact code
// it runs. Deploy uses it to plan (is the repo already live?) and drift to compare.
//
// It wraps the workers sub-package of cloudflare-go v6 (never the root package, which costs
// minutes of compile) and fixes the SDK's defaults that are wrong for a fleet tool:
//   - retries and timeouts are set here, not left at the SDK's 10 retries of up to 30 s;
//   - a 200 answer with "success": false is an error, as it is for wrangler;
//   - every error is translated once into *APIError, which carries the Cloudflare codes and
//     matches ErrNotFound, ErrUnauthorized or ErrRateLimited with errors.Is; never the token;
//   - all Clients of one token in the process share one request budget (1,200 per 5 minutes
//     by default, Cloudflare's own limit), and a 429 is waited out using Retry-After.
package cfapi
