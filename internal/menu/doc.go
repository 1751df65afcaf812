// Package menu reads the two descriptions of the operator's menu, so that a test can hold
// one to the other: the README's table of targets and flags, and what the compiled magefile
// accepts (`mage -h <target>`). Docs and flags then cannot drift apart.
package menu
