// Package testworld is what the end-to-end tests share beyond a copy of the checkout
// (package testrepo): the two ways a test meets a sandbox.
//
//   - World (New, NewWithWrangler): a sandboxworld.World for one test, the repository's
//     tenants or generated ones in a temporary workspace, an in-process sandbox serving them,
//     per-tenant tokens a test can withhold, closed when the test ends. The fleet, drift and
//     fleet:status tests run in it.
//   - StartSandbox: an in-process sandbox registered as a workspace copy's running sandbox
//     (its .state/sandbox/runtime.json), so that every package and every `go tool mage`
//     started in the copy talks to it. The rollback, auth:check and runbook tests run in it.
//
// Both reach the sandbox's workers.dev edge through sandboxctl.EdgeTransport. Only tests
// import it; the lint step fails if the mage binary does (see ci.RigInMage).
package testworld
