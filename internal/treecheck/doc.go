// Package treecheck is the gate a staging or production deploy depends on: the fast checks
// (lint, typecheck, the unit layer of the tests) of the exact tree being deployed, run once
// per tree and remembered under .state/checks/ by the tree's hash, so a second deploy of the
// same tree does not run them again. A dirty tree is hashed by its content, so an edit after
// the checks passed makes them run again.
package treecheck
