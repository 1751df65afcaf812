//go:build mage

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Tenants lists the tenants under tenants/.
type Tenants mg.Namespace

// List prints the name of every tenant under tenants/, one per line.
func (Tenants) List(
	json *bool, // print a JSON array instead
) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	names, err := tenant.List(ws)
	if err != nil {
		return err
	}
	if flag(json, false) {
		return printJSON(names)
	}
	if len(names) > 0 {
		fmt.Println(strings.Join(names, "\n"))
	}
	return nil
}

// Matrix prints the GitHub Actions matrix of all tenants as JSON: {"tenant":[...]}.
func (Tenants) Matrix() error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	names, err := tenant.List(ws)
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	return printJSON(map[string][]string{"tenant": names})
}

// printJSON writes v as one line of JSON on stdout.
func printJSON(v any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}
