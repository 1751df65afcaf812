// Package treecheck is the gate a staging or production deploy depends on: the deploy checks
// (ci.DeploySteps: the Worker's typecheck and tests, validation of the tenants deployed, their
// build) of the exact tree being deployed, run once per tree and remembered under
// .state/checks/ by the tree's hash with what they vouched for, so a second deploy of the same
// tree does not run them again. A dirty tree is hashed by its content, so an edit after the
// checks passed makes them run again. A pass of `go tool mage ci` (RecordCI) stands in for
// every gate of its tree, and is shared with every machine that reaches the same git remote as
// a note on the tree (refs/notes/checks); a failed gate is handed to the deploy, which refuses
// with a record naming the check.
package treecheck
