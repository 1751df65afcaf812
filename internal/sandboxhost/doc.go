// Package sandboxhost runs the local Cloudflare API (package sandbox) for one checkout: its
// accounts read from tenants/, the server on loopback (Serve), started detached (Start), and
// reset while stopped (Reset).
//
// Only cmd/cf-sandbox and tests import it: the sandbox:* targets run the cf-sandbox binary,
// so the mage binary does not link the emulator. What every other target needs to find and
// talk to a running sandbox (its paths, its runtime file, its control API, stopping it) is in
// package sandboxctl, which this package builds on.
package sandboxhost
