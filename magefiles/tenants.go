//go:build mage

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
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

// Matrix prints the GitHub Actions matrix of the tenants as JSON: {"tenant":[...]}.
//
// With -chunk=N it shards them into jobs of N tenants (at most 256 jobs), each deployed with
// deploy:all -only=<its tenants>: {"include":[{"chunk":1,"tenants":"a,b","secrets":"…","count":2}]}.
func (Tenants) Matrix(
	chunk *int, // shard into jobs of N tenants each (at most 256 jobs)
	only *string, // only these tenants (comma-separated; "all" or empty is every tenant)
) error {
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
	if o := strings.TrimSpace(flag(only, "")); o != "" && o != "all" {
		var picked, unknown []string
		for n := range strings.SplitSeq(o, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			if !slices.Contains(names, n) {
				unknown = append(unknown, n)
			} else if !slices.Contains(picked, n) {
				picked = append(picked, n)
			}
		}
		if len(unknown) > 0 {
			return fmt.Errorf("tenants:matrix -only: unknown tenants: %s; known: %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
		}
		names = picked
	}
	if chunk == nil {
		return printJSON(map[string][]string{"tenant": names})
	}
	cs, err := fleet.Chunks(names, *chunk)
	if err != nil {
		return fmt.Errorf("tenants:matrix: %w", err)
	}
	return printJSON(map[string][]fleet.Chunk{"include": cs})
}

// printJSON writes v as one line of JSON on stdout.
func printJSON(v any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}
