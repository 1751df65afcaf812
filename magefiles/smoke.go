//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/probe"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Smoke runs the post-deploy plugins (the smoke test) against what runs live now.
//
// The rollback runbook's "run the smoke tests" step. Each plugin's output goes to the log
// it names. Exits 1 if the tenant is not healthy or a plugin fails.
func Smoke(ctx context.Context, tenantName, env string,
	json *bool, // print {health, plugins, log} as JSON on stdout
) error {
	ctx, stop := stoppable(ctx) // a counter round trip writes to the live Worker
	defer stop()
	name, e, err := request("smoke", tenantName, env)
	if err != nil {
		return err
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	res, err := probe.Smoke(ctx, ws, log, name, e, os.Stderr)
	if flag(json, false) {
		if jerr := report.JSON(os.Stdout, res); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	if res.Health.URL != "" {
		fmt.Println(res.Health.Line())
	}
	for _, p := range res.Plugins {
		mark := "ok"
		if p.Error != "" {
			mark = "FAILED: " + p.Error
		}
		fmt.Printf("%s: exit %d in %dms %s\n", p.Name, p.Exit, p.DurationMS, mark)
	}
	if res.Log != "" && len(res.Plugins) > 0 {
		fmt.Println("output: " + res.Log)
	}
	return err
}
