// Package testrepo gives tests a throwaway copy of the checkout and the pinned wrangler.
//
// Tests that deploy, roll back, start dev servers or build bundles must never write into the
// repository (records in deployments/, state in .state/, bundles in .build/), and must never
// reinstall node packages: several test binaries share one node_modules at the same time.
// Copy makes a temporary workspace with the tenants, the Worker and the schemas copied and
// node_modules linked, with package-lock.json keeping its modification time so that
// npmdeps.Ensure in the copy sees the shared install as current instead of running `npm ci`
// through the link. NeedWrangler makes sure wrangler can run, skipping on a laptop without
// Node and failing when CI=true, so a green CI run has always exercised wrangler.
// WranglerRun is the from-scratch environment tests give a wrangler they start themselves.
//
// It is an ordinary package, imported only by tests and by package testworld, so it does not
// import "testing": TB is the part of testing.TB it uses. It imports nothing that imports the
// sandbox, so the sandbox's own tests can use it. The copy itself is package workspacecopy's,
// which sandboxworld (the benchmarks' world) also uses; the lint step fails if the mage
// binary imports testrepo or any other package of the test rig (ci.RigInMage).
package testrepo
