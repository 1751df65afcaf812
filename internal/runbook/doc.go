// Package runbook reads the command blocks out of the operator runbooks in docs/runbooks, so
// that a test can run them exactly as written against the sandbox: a runbook whose commands
// no longer work fails CI instead of failing an on-call engineer during an incident.
//
// A block is tested when the line before its opening fence is the marker comment
// <!-- runbook-test --> and its info string is sh, bash or shell.
package runbook
