package metrics

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// at is day d (1-based) of the window at hh:mm.
func at(d, hh, mm int) time.Time {
	return t0.Add(time.Duration(d-1)*24*time.Hour + time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// rec is a record of sha whose version is "v-"+sha (a rollback's previous version is unset:
// rb sets it).
func rec(tenant, env string, kind history.Kind, st history.Status, sha string, finished time.Time, took time.Duration) history.Record {
	return history.Record{Tenant: tenant, Env: env, Kind: kind, Status: st, GitSHA: sha, VersionID: "v-" + sha, StartedAt: finished.Add(-took), FinishedAt: finished}
}

// rb is a rollback record from version from to version to.
func rb(tenant, env string, st history.Status, from, to string, finished time.Time) history.Record {
	return history.Record{Tenant: tenant, Env: env, Kind: history.KindRollback, Status: st, PreviousVersionID: from, VersionID: to,
		StartedAt: finished.Add(-20 * time.Second), FinishedAt: finished}
}

func dep(tenant, env string, st history.Status, sha string, finished time.Time, took time.Duration) history.Record {
	return rec(tenant, env, history.KindDeploy, st, sha, finished, took)
}

// fakeCommits answers from a table keyed by "from..to".
func fakeCommits(m map[string][]Commit) Commits {
	return func(_ context.Context, from, to string) ([]Commit, bool) {
		cs, ok := m[from+".."+to]
		return cs, ok
	}
}

func f(v float64) *float64 { return &v }

// history of tenant a in production: the expected figures are worked out by hand in the
// comments beside each record.
func tenantA() []history.Record {
	s, R, F, U := history.StatusSucceeded, history.StatusRolledBack, history.StatusFailed, history.StatusUnchanged
	return []history.Record{
		dep("a", "production", s, "c1", at(1, 10, 0), 60*time.Second),  // lead 2h
		dep("a", "production", R, "c2", at(2, 10, 0), 120*time.Second), // failed change; incident → 3: 2h
		dep("a", "production", s, "c3", at(2, 12, 0), 90*time.Second),  // leads 1h, 3h; next is a feat: not failed
		dep("a", "production", s, "c4", at(3, 10, 0), 30*time.Second),  // lead 30m; rolled back by 5: failed
		rb("a", "production", s, "v-c4", "v-c3", at(3, 11, 0)),         // restores 4: 1h
		dep("a", "production", F, "c5", at(4, 10, 0), 10*time.Second),  // not a change; incident → 7: 30m
		dep("a", "production", U, "c3", at(4, 10, 30), 5*time.Second),  // healthy, not an attempt
		dep("a", "production", s, "c5", at(5, 10, 0), 45*time.Second),  // lead 1h; followed by a revert: failed
		dep("a", "production", s, "c6", at(5, 10, 20), 50*time.Second), // lead 10m; restores 8: 20m
	}
}

var commitsA = map[string][]Commit{
	"..c1":   {{SHA: "c1", Time: at(1, 8, 0), Subject: "feat: first"}},
	"c1..c3": {{SHA: "c3", Time: at(2, 11, 0), Subject: "fix: crash"}, {SHA: "c2", Time: at(2, 9, 0), Subject: "feat: thing"}},
	"c3..c4": {{SHA: "c4", Time: at(3, 9, 30), Subject: "feat: more"}},
	"c4..c5": {{SHA: "c5", Time: at(5, 9, 0), Subject: "feat: again"}},
	"c5..c6": {{SHA: "c6", Time: at(5, 10, 10), Subject: `Revert "feat: again"`}},
}

func TestComputeKnownAnswers(t *testing.T) {
	recs := tenantA()
	recs = append(recs,
		// b/staging: a failure before the window (not counted), then a deploy of an unknown sha.
		dep("b", "staging", history.StatusFailed, "x0", t0.Add(-24*time.Hour), time.Second),
		dep("b", "staging", history.StatusSucceeded, "d1", at(1, 9, 0), 40*time.Second),
		// b/production: a rollback that nothing has restored yet.
		dep("b", "production", history.StatusRolledBack, "d2", at(10, 9, 0), 80*time.Second),
		// a/production after the window: ignored.
		dep("a", "production", history.StatusFailed, "c9", at(40, 0, 0), time.Second),
	)
	res := Compute(context.Background(), recs, Options{Since: t0, Until: t0.Add(30 * 24 * time.Hour), Commits: fakeCommits(commitsA)})
	if len(res.Groups) != 3 || len(res.Fleet) != 2 {
		t.Fatalf("groups %d fleet %d, want 3 and 2: %+v", len(res.Groups), len(res.Fleet), res)
	}
	a, bp, bs := res.Groups[0], res.Groups[1], res.Groups[2]
	if a.Tenant != "a" || bp.Tenant != "b" || bp.Env != "production" || bs.Env != "staging" {
		t.Fatalf("order: %s/%s %s/%s %s/%s", a.Tenant, a.Env, bp.Tenant, bp.Env, bs.Tenant, bs.Env)
	}

	checkInt := func(name string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	checkF := func(name string, got, want *float64) {
		t.Helper()
		switch {
		case got == nil && want == nil:
		case got == nil || want == nil:
			t.Errorf("%s = %v, want %v", name, got, want)
		case *got != *want:
			t.Errorf("%s = %v, want %v", name, *got, *want)
		}
	}
	checkMS := func(name string, got *int64, want int64) {
		t.Helper()
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}

	checkInt("a.attempts", a.Attempts, 7)
	checkInt("a.succeeded", a.Succeeded, 5)
	checkInt("a.rolled_back", a.RolledBack, 1)
	checkInt("a.failed", a.Failed, 1)
	checkInt("a.unchanged", a.Unchanged, 1)
	checkInt("a.rollbacks", a.Rollbacks, 1)
	checkF("a.success_rate", a.SuccessRate, f(0.7143))
	checkF("a.deploys_per_week", &a.DeploysPerWeek, f(1.167))
	checkInt("a.change_failure.changes", a.ChangeFailure.Changes, 6)
	checkInt("a.change_failure.failed", a.ChangeFailure.Failed, 3)
	checkF("a.change_failure.rate", a.ChangeFailure.Rate, f(0.5))
	checkInt("a.lead.changes", a.LeadTime.Changes, 6)
	checkF("a.lead.median", a.LeadTime.MedianSeconds, f(3600))
	checkF("a.lead.p90", a.LeadTime.P90Seconds, f(3*3600))
	checkInt("a.restore.incidents", a.Restore.Incidents, 4)
	checkInt("a.restore.open", a.Restore.Open, 0)
	checkF("a.restore.median", a.Restore.MedianSeconds, f(45*60))
	checkInt("a.duration.count", a.Duration.Count, 7)
	checkMS("a.duration.p50", a.Duration.P50MS, 50_000)
	checkMS("a.duration.p90", a.Duration.P90MS, 120_000)
	checkMS("a.duration.max", a.Duration.MaxMS, 120_000)

	checkInt("b/staging.succeeded", bs.Succeeded, 1)
	checkInt("b/staging.unknown lead", bs.LeadTime.UnknownDeploys, 1)
	checkInt("b/staging.incidents (before the window)", bs.Restore.Incidents, 0)
	checkF("b/staging.success_rate", bs.SuccessRate, f(1))
	checkF("b/staging.lead.median", bs.LeadTime.MedianSeconds, nil)

	checkInt("b/production.incidents", bp.Restore.Incidents, 1)
	checkInt("b/production.open", bp.Restore.Open, 1)
	checkF("b/production.restore.median", bp.Restore.MedianSeconds, nil)
	checkF("b/production.cfr", bp.ChangeFailure.Rate, f(1))

	fp := res.Fleet[0]
	if fp.Env != "production" || fp.Tenant != "" {
		t.Fatalf("fleet[0] is %q/%q, want production", fp.Tenant, fp.Env)
	}
	checkInt("fleet.attempts", fp.Attempts, 8)
	checkF("fleet.success_rate", fp.SuccessRate, f(0.625))
	checkF("fleet.cfr", fp.ChangeFailure.Rate, f(0.5714))
	checkInt("fleet.incidents", fp.Restore.Incidents, 5)
	checkInt("fleet.open", fp.Restore.Open, 1)
	checkF("fleet.restore.median (the open incident has no sample)", fp.Restore.MedianSeconds, f(45*60))
	checkMS("fleet.duration.p50 (8 samples, nearest rank 4)", fp.Duration.P50MS, 50_000)
}

func TestComputeEdgeCases(t *testing.T) {
	win := Options{Since: t0, Until: t0.Add(7 * 24 * time.Hour)}
	cases := []struct {
		name  string
		recs  []history.Record
		opts  func(*Options)
		check func(t *testing.T, s Stats)
	}{
		{"no attempts: rates are null, not 0", []history.Record{
			dep("a", "staging", history.StatusUnchanged, "c1", at(1, 0, 0), time.Second),
		}, nil, func(t *testing.T, s Stats) {
			if s.SuccessRate != nil || s.ChangeFailure.Rate != nil || s.Duration.P50MS != nil {
				t.Errorf("want nil rates, got %+v", s)
			}
		}},
		{"no commit lookup: lead time unknown", []history.Record{
			dep("a", "staging", history.StatusSucceeded, "c1", at(1, 0, 0), time.Second),
		}, nil, func(t *testing.T, s Stats) {
			if s.LeadTime.UnknownDeploys != 1 || s.LeadTime.Changes != 0 {
				t.Errorf("lead %+v", s.LeadTime)
			}
		}},
		{"commit after the deploy (clock skew) is ignored", []history.Record{
			dep("a", "staging", history.StatusSucceeded, "c1", at(1, 0, 0), time.Second),
		}, func(o *Options) {
			o.Commits = fakeCommits(map[string][]Commit{"..c1": {{SHA: "c1", Time: at(1, 1, 0)}}})
		}, func(t *testing.T, s Stats) {
			if s.LeadTime.Changes != 0 || s.LeadTime.UnknownDeploys != 0 {
				t.Errorf("lead %+v", s.LeadTime)
			}
		}},
		{"the same sha deployed again delivers no change", []history.Record{
			dep("a", "staging", history.StatusSucceeded, "c1", at(1, 0, 0), time.Second),
			dep("a", "staging", history.StatusSucceeded, "c1", at(2, 0, 0), time.Second),
		}, func(o *Options) {
			o.Commits = fakeCommits(map[string][]Commit{"..c1": {{SHA: "c1", Time: at(1, 0, 0).Add(-time.Hour)}}})
		}, func(t *testing.T, s Stats) {
			if s.LeadTime.Changes != 1 || *s.LeadTime.MedianSeconds != 3600 {
				t.Errorf("lead %+v", s.LeadTime)
			}
		}},
		{"a rollback after the window is not remediation", []history.Record{
			dep("a", "staging", history.StatusSucceeded, "c1", at(1, 0, 0), time.Second),
			rec("a", "staging", history.KindRollback, history.StatusSucceeded, "c0", at(3, 0, 0), time.Second),
		}, nil, func(t *testing.T, s Stats) {
			if s.ChangeFailure.Failed != 0 || s.Rollbacks != 1 {
				t.Errorf("cfr %+v rollbacks %d", s.ChangeFailure, s.Rollbacks)
			}
		}},
		{"secrets records are not deploys, but a healthy one ends an incident", []history.Record{
			dep("a", "staging", history.StatusSucceeded, "c1", at(1, 0, 0), time.Second),
			rec("a", "staging", history.KindSecrets, history.StatusSucceeded, "c1", at(1, 1, 0), time.Second),
			dep("a", "staging", history.StatusFailed, "c2", at(1, 2, 0), time.Second),
			rec("a", "staging", history.KindSecrets, history.StatusSucceeded, "c2", at(1, 3, 0), time.Second),
		}, nil, func(t *testing.T, s Stats) {
			if s.Attempts != 2 || s.Succeeded != 1 || s.Failed != 1 || s.Duration.Count != 2 {
				t.Errorf("counts %+v", s)
			}
			if s.Restore.Incidents != 1 || s.Restore.Open != 0 || *s.Restore.MedianSeconds != 3600 {
				t.Errorf("restore %+v", s.Restore)
			}
		}},
		{"a failing streak is one incident", []history.Record{
			dep("a", "staging", history.StatusFailed, "c1", at(1, 0, 0), time.Second),
			dep("a", "staging", history.StatusInterrupted, "c1", at(1, 1, 0), time.Second),
			dep("a", "staging", history.StatusRolledBack, "c1", at(1, 2, 0), time.Second),
			dep("a", "staging", history.StatusSucceeded, "c2", at(1, 3, 0), time.Second),
		}, nil, func(t *testing.T, s Stats) {
			if s.Restore.Incidents != 1 || *s.Restore.MedianSeconds != 3*3600 {
				t.Errorf("restore %+v", s.Restore)
			}
			if s.Attempts != 4 || *s.SuccessRate != 0.25 || s.ChangeFailure.Changes != 2 || s.ChangeFailure.Failed != 1 {
				t.Errorf("counts %+v", s)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := win
			if tc.opts != nil {
				tc.opts(&o)
			}
			res := Compute(context.Background(), tc.recs, o)
			if len(res.Groups) != 1 {
				t.Fatalf("groups %+v", res.Groups)
			}
			tc.check(t, res.Groups[0])
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"30d":                  now.Add(-30 * 24 * time.Hour),
		"2w":                   now.Add(-14 * 24 * time.Hour),
		"12h":                  now.Add(-12 * time.Hour),
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T10:00:00Z": time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
	}
	for in, want := range good {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-3d", "30", "d", "abc", "2027-01-01", "30m"} {
		if _, err := ParseSince(in, now); err == nil {
			t.Errorf("ParseSince(%q): want an error", in)
		}
	}
}

// TestRemediationFollowsVersions: a rollback counts against the deploy whose version it moved
// away from, never against the one it put back. The first case is the operator's rehearsal
// (it showed 40.0% (2/5), then 75.0% (3/4) once a record was skipped as damaged).
func TestRemediationFollowsVersions(t *testing.T) {
	s, I, R := history.StatusSucceeded, history.StatusInterrupted, history.StatusRolledBack
	rollout := func(r history.Record, prev string) history.Record {
		r.PreviousVersionID = prev
		r.Rollout = []history.RolloutStep{{Step: 0, Gate: "passed"}, {Step: 1, Percent: 10, Gate: "interrupted"}}
		return r
	}
	abort := func(from, to string, at time.Time) history.Record {
		r := rb("a", "production", s, from, to, at)
		r.Reason = "deploy:abort"
		return r
	}
	promote := func(from, to string, at time.Time) history.Record {
		return history.Record{Tenant: "a", Env: "production", Kind: history.KindDeploy, Status: s, GitSHA: "c9",
			PreviousVersionID: from, VersionID: to, Reason: "deploy:promote", StartedAt: at.Add(-time.Minute), FinishedAt: at}
	}
	secrets := func(from, to string, at time.Time) history.Record {
		r := rec("a", "production", history.KindSecrets, s, "", at, time.Second)
		r.PreviousVersionID, r.VersionID = from, to
		return r
	}
	d := func(st history.Status, sha string, at time.Time) history.Record {
		return dep("a", "production", st, sha, at, time.Minute)
	}
	rehearsal := []history.Record{
		d(s, "c1", at(1, 9, 0)),
		d(s, "c2", at(1, 10, 0)),                                // rolled back by the next: failed
		rb("a", "production", s, "v-c2", "v-c1", at(1, 10, 30)), // restores c2: 30m
		d(s, "c3", at(1, 12, 0)),
		rollout(d(I, "c4", at(1, 13, 0)), "v-c3"), // interrupted split: an incident, not a change
		abort("v-c4", "v-c3", at(1, 13, 20)),      // puts c3 back: remediates c4's rollout, not c3; restores it: 20m
		d(s, "c5", at(1, 15, 0)),
		d(s, "c6", at(1, 16, 0)),
	}
	withoutC2 := slices.Delete(slices.Clone(rehearsal), 1, 2) // c2's record skipped as damaged

	cases := []struct {
		name              string
		recs              []history.Record
		changes, failed   int
		incidents         int
		restoreMedianSecs float64 // 0: no restored incident
	}{
		{"rehearsal: the abort does not count against the deploy it put back", rehearsal, 5, 1, 2, 25 * 60},
		{"rehearsal with c2's record damaged: its rollback counts against no deploy", withoutC2, 4, 0, 1, 20 * 60},
		{"a rollback away from the deploy's version", []history.Record{
			d(s, "c1", at(1, 9, 0)), d(s, "c2", at(1, 10, 0)), rb("a", "production", s, "v-c2", "v-c1", at(1, 11, 0)),
		}, 2, 1, 1, 3600},
		{"a rollback back to the deploy's version from another is not its remediation", []history.Record{
			d(s, "c1", at(1, 9, 0)), rb("a", "production", s, "v-cx", "v-c1", at(1, 10, 0)),
		}, 1, 0, 0, 0},
		{"a failed rollback remediates nothing", []history.Record{
			d(s, "c1", at(1, 9, 0)), rb("a", "production", history.StatusFailed, "v-c1", "v-c0", at(1, 10, 0)),
		}, 1, 0, 0, 0},
		{"a rollback without a previous version remediates nothing", []history.Record{
			d(s, "c1", at(1, 9, 0)), rb("a", "production", s, "", "v-c0", at(1, 10, 0)),
		}, 1, 0, 0, 0},
		{"a rollback away from a secrets copy of the deploy's code", []history.Record{
			d(s, "c1", at(1, 9, 0)), secrets("v-c1", "v-c1s", at(1, 9, 30)), rb("a", "production", s, "v-c1s", "v-c0", at(1, 10, 0)),
		}, 1, 1, 1, 3600},
		{"a rollout promoted by deploy:promote, then rolled back: the promote is the failed change", []history.Record{
			d(s, "c1", at(1, 9, 0)), rollout(d(I, "c2", at(1, 10, 0)), "v-c1"), promote("v-c1", "v-c2", at(1, 10, 30)),
			rb("a", "production", s, "v-c2", "v-c1", at(1, 11, 0)),
		}, 2, 1, 1, 3600},
		{"an abort after a rollout rolled back by itself does not count against the deploy before", []history.Record{
			d(s, "c1", at(1, 9, 0)), d(R, "c2", at(1, 10, 0)), rollout(d(I, "c3", at(1, 11, 0)), "v-c1"), abort("v-c3", "v-c1", at(1, 11, 10)),
		}, 2, 1, 1, 70 * 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Compute(context.Background(), tc.recs, Options{Since: t0, Until: t0.Add(7 * 24 * time.Hour)})
			if len(res.Groups) != 1 {
				t.Fatalf("groups %+v", res.Groups)
			}
			g := res.Groups[0]
			if g.ChangeFailure.Changes != tc.changes || g.ChangeFailure.Failed != tc.failed {
				t.Errorf("change failure %d/%d, want %d/%d", g.ChangeFailure.Failed, g.ChangeFailure.Changes, tc.failed, tc.changes)
			}
			if g.Restore.Incidents != tc.incidents || g.Restore.Open != 0 {
				t.Errorf("incidents %d (open %d), want %d", g.Restore.Incidents, g.Restore.Open, tc.incidents)
			}
			switch m := g.Restore.MedianSeconds; {
			case tc.restoreMedianSecs == 0 && m != nil, tc.restoreMedianSecs != 0 && (m == nil || *m != tc.restoreMedianSecs):
				got := "none"
				if m != nil {
					got = fmt.Sprint(*m)
				}
				t.Errorf("restore median %s s, want %v s (0: none)", got, tc.restoreMedianSecs)
			}
		})
	}
}
