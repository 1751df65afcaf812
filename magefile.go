//go:build ignore

// Zero-install bootstrap: `go run magefile.go <target>` runs the Mage targets in magefiles/
// without `go tool mage`. Prefer `go tool mage <target>`: it keeps exit codes (go run turns
// every non-zero exit into 1).
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
