package deploy

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// BenchmarkDeployVsBareWrangler measures, against one sandbox and in one run, a bare
// `wrangler deploy` of the tenant's config, a full deploy:tenant of changed code (build,
// plan, lock, deploy, verify, annotate, record) and an unchanged redeploy, and reports the
// two ratios to the bare deploy (goals: changed <= 1.5, unchanged <= 0.6).
//
//	go test ./internal/deploy -run '^$' -bench DeployVsBare -benchtime 3x
func BenchmarkDeployVsBareWrangler(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	const tn = "mrrainbowsmoke"
	t, err := tenant.Load(ctx, w.ws, tn)
	if err != nil {
		b.Fatal(err)
	}
	r, err := t.Resolve(tenant.Staging)
	if err != nil {
		b.Fatal(err)
	}
	runner := wrangler.New(w.ws, nil)
	inv := wrangler.Invocation{ConfigPath: t.WranglerPath(), Env: "staging", AccountID: r.AccountID,
		Token: creds.NewSecret(tenants[0].token), APIBaseURL: w.srv.URL + "/client/v4", ScratchDir: b.TempDir()}
	// Warm-up: the first deploy of a Worker takes wrangler's other (PUT) path.
	if _, err := Run(ctx, w.opts(b, tn, "staging", nil)); err != nil {
		b.Fatal(err)
	}
	var bare, changed, unchanged time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		if _, err := runner.Deploy(ctx, inv); err != nil {
			b.Fatal(err)
		}
		bare += time.Since(start)

		w.bumpCode(b, "bench"+strconv.Itoa(i))
		start = time.Now()
		out, err := Run(ctx, w.opts(b, tn, "staging", nil))
		changed += time.Since(start)
		if err != nil || out.Record.Status != history.StatusSucceeded {
			b.Fatalf("changed deploy: %v %s", err, out.Record.Status)
		}

		start = time.Now()
		out, err = Run(ctx, w.opts(b, tn, "staging", nil))
		unchanged += time.Since(start)
		if err != nil || out.Record.Status != history.StatusUnchanged {
			b.Fatalf("unchanged redeploy: %v %s", err, out.Record.Status)
		}
	}
	n := float64(i)
	b.ReportMetric(bare.Seconds()/n, "bare-s/op")
	b.ReportMetric(changed.Seconds()/n, "changed-s/op")
	b.ReportMetric(unchanged.Seconds()/n, "unchanged-s/op")
	b.ReportMetric(changed.Seconds()/bare.Seconds(), "changed/bare")
	b.ReportMetric(unchanged.Seconds()/bare.Seconds(), "unchanged/bare")
}
