package metrics

import (
	"cmp"
	"context"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// Commit is one commit as the lead time needs it.
type Commit struct {
	SHA     string
	Time    time.Time
	Subject string
}

// Commits returns the commits a deploy of to delivered after a deploy of from: the commits
// reachable from to and not from from (from "" means to's commit alone). ok is false when
// the commits are unknown (a sha this clone does not have).
type Commits func(ctx context.Context, from, to string) (commits []Commit, ok bool)

// Options are the window and the remediation rules.
type Options struct {
	Since, Until time.Time
	// RemediationWindow is how soon after a deploy a rollback or a fix deploy makes it a
	// failed change; zero means 24 h.
	RemediationWindow time.Duration
	// Commits looks up commit times and subjects; nil means no lead time and no fix detection.
	Commits Commits
}

// fixSubject is how a fix deploy is recognised: the newest commit it delivers says so, in the
// conventional-commit and git-revert spellings.
var fixSubject = regexp.MustCompile(`(?i)^(fix|hotfix|bugfix|revert)\b|^Revert "`)

// Stats are the metrics of one tenant/env or of a whole env. Rates and durations are nil
// when there is nothing to compute them from (no deploys), never a misleading 0.
type Stats struct {
	Tenant string `json:"tenant,omitempty"` // "" for a fleet row
	Env    string `json:"env"`
	// Attempts are deploy records that tried to change something: every status but unchanged.
	Attempts    int `json:"attempts"`
	Succeeded   int `json:"succeeded"`
	Failed      int `json:"failed"`
	RolledBack  int `json:"rolled_back"`
	Interrupted int `json:"interrupted"`
	Unchanged   int `json:"unchanged"`
	// Rollbacks are rollback records (mage rollback, redeploy) that succeeded.
	Rollbacks int `json:"rollbacks"`
	// SuccessRate is succeeded ÷ attempts.
	SuccessRate *float64 `json:"success_rate"`
	// DeploysPerDay and DeploysPerWeek are succeeded deploys ÷ the window's length.
	DeploysPerDay  float64 `json:"deploys_per_day"`
	DeploysPerWeek float64 `json:"deploys_per_week"`
	LeadTime       Lead    `json:"lead_time"`
	ChangeFailure  Failure `json:"change_failure"`
	Restore        Restore `json:"time_to_restore"`
	Duration       Spread  `json:"deploy_duration"`
}

// Lead is the lead time for changes: for every commit a succeeded deploy delivered (the
// commits since the previous succeeded deploy of the same tenant/env), the deploy's finish
// time minus the commit time; non-positive values are ignored, as Four Keys does.
type Lead struct {
	Changes       int      `json:"changes"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
	// UnknownDeploys are succeeded deploys whose commits this clone cannot look up.
	UnknownDeploys int `json:"unknown_deploys"`
}

// Failure is the change failure rate: of the deploys that changed what runs (succeeded or
// rolled_back), those that needed remediation: rolled back automatically (rolled_back), or
// followed within the window, before the next deploy settled it, by a succeeded rollback
// record away from the deploy's version (its previous_version_id is the deploy's
// version_id, or a secrets copy of it; a deploy:abort that puts the deploy's version back
// does not count against it) or by a fix deploy (a succeeded deploy whose newest commit is a
// fix or a revert). See remediated.
type Failure struct {
	Changes int      `json:"changes"`
	Failed  int      `json:"failed"`
	Rate    *float64 `json:"rate"`
}

// Restore is the failed deployment recovery time: from the first failing record of a run of
// them (failed, rolled_back or interrupted deploy, or a deploy that counts as a failed
// change) to the next healthy record of the same tenant/env (succeeded or unchanged, of any
// kind; not a failed change, and not a secrets change made from a failed change's version,
// which is still its code). Incidents with no healthy record yet are Open. It uses the
// failed changes of Failure: a rollback ends the incident of the deploy it remediates, and
// deploy:abort the incident of the interrupted rollout it settles.
type Restore struct {
	Incidents     int      `json:"incidents"`
	Open          int      `json:"open"`
	MedianSeconds *float64 `json:"median_seconds"`
}

// Spread is the distribution of deploy durations (finished_at − started_at) of attempts,
// by nearest rank.
type Spread struct {
	Count int    `json:"count"`
	P50MS *int64 `json:"p50_ms"`
	P90MS *int64 `json:"p90_ms"`
	P95MS *int64 `json:"p95_ms"`
	MaxMS *int64 `json:"max_ms"`
}

// Result is every tenant/env's stats and each env's fleet stats.
type Result struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Groups []Stats   `json:"tenants"`
	Fleet  []Stats   `json:"fleet"`
	// Skipped are the damaged record files of the asked tenants/envs that the metrics
	// exclude (Run only; history:verify names them).
	Skipped []history.Damaged `json:"skipped_records"`
}

// samples are what one group contributes; a fleet row sums them.
type samples struct {
	s        Stats
	lead     []time.Duration
	restore  []time.Duration
	duration []time.Duration
}

// Compute returns the metrics of the records (any order, any mix of tenants and envs) for
// the window [o.Since, o.Until]. Records before the window still matter: they say what the
// previous deploy was (lead time) and whether a failure was still open.
func Compute(ctx context.Context, recs []history.Record, o Options) Result {
	if o.RemediationWindow <= 0 {
		o.RemediationWindow = 24 * time.Hour
	}
	type key struct{ tenant, env string }
	groups := map[key][]history.Record{}
	for _, r := range recs {
		k := key{r.Tenant, r.Env}
		groups[k] = append(groups[k], r)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.env, b.env), cmp.Compare(a.tenant, b.tenant)) })

	res := Result{Since: o.Since, Until: o.Until, Groups: []Stats{}, Fleet: []Stats{}}
	fleet := map[string]*samples{}
	var envs []string
	for _, k := range keys {
		rs := groups[k]
		slices.SortStableFunc(rs, func(a, b history.Record) int { return a.FinishedAt.Compare(b.FinishedAt) })
		g := group(ctx, rs, o)
		g.s.Tenant, g.s.Env = k.tenant, k.env
		res.Groups = append(res.Groups, g.summary(o))
		f, ok := fleet[k.env]
		if !ok {
			f = &samples{s: Stats{Env: k.env}}
			fleet[k.env] = f
			envs = append(envs, k.env)
		}
		f.add(g)
	}
	for _, e := range envs {
		res.Fleet = append(res.Fleet, fleet[e].summary(o))
	}
	return res
}

func (o Options) in(t time.Time) bool {
	return !t.Before(o.Since) && !t.After(o.Until)
}

func live(r history.Record) bool {
	return r.Kind == history.KindDeploy && (r.Status == history.StatusSucceeded || r.Status == history.StatusRolledBack)
}

func healthy(r history.Record) bool {
	return r.Status == history.StatusSucceeded || r.Status == history.StatusUnchanged
}

// group computes the samples of one tenant/env; rs is oldest first.
func group(ctx context.Context, rs []history.Record, o Options) *samples {
	g := &samples{}
	s := &g.s
	prevSHA := "" // git sha of the previous succeeded deploy
	failedChange := make([]bool, len(rs))
	for i, r := range rs {
		inWin := o.in(r.FinishedAt)
		if r.Kind == history.KindRollback {
			if inWin && r.Status == history.StatusSucceeded {
				s.Rollbacks++
			}
			continue
		}
		if r.Kind == history.KindSecrets {
			// A secret change makes Cloudflare deploy a new version, but it delivers no
			// change of code or config: not a deploy for these metrics. It still ends an
			// incident when it leaves the Worker healthy (the loop below).
			continue
		}
		if live(r) {
			failedChange[i] = r.Status == history.StatusRolledBack || remediated(ctx, rs, i, o)
		}
		if inWin {
			switch r.Status {
			case history.StatusSucceeded:
				s.Succeeded++
			case history.StatusFailed:
				s.Failed++
			case history.StatusRolledBack:
				s.RolledBack++
			case history.StatusInterrupted:
				s.Interrupted++
			case history.StatusUnchanged:
				s.Unchanged++
			}
			if r.Status != history.StatusUnchanged {
				s.Attempts++
				if !r.StartedAt.IsZero() && !r.FinishedAt.Before(r.StartedAt) {
					g.duration = append(g.duration, r.FinishedAt.Sub(r.StartedAt))
				}
			}
			if live(r) {
				s.ChangeFailure.Changes++
				if failedChange[i] {
					s.ChangeFailure.Failed++
				}
			}
		}
		if r.Status != history.StatusSucceeded || r.GitSHA == "" {
			continue
		}
		if inWin {
			g.leadTimes(ctx, prevSHA, r, o)
		}
		prevSHA = r.GitSHA
	}

	// Incidents: a run of failing records, from the first to the next healthy record.
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		failing := r.Kind == history.KindDeploy && (failedChange[i] || r.Status == history.StatusFailed || r.Status == history.StatusInterrupted)
		if !failing {
			continue
		}
		start := r.FinishedAt
		// bad is the code of the failed changes of this incident: a secrets change made from
		// it is still that code (remediated counts a rollback away from it), so it restores
		// nothing.
		bad := map[string]bool{}
		if failedChange[i] && r.VersionID != "" {
			bad[r.VersionID] = true
		}
		j := i + 1
		for ; j < len(rs); j++ {
			n := rs[j]
			if n.Kind == history.KindSecrets && bad[n.PreviousVersionID] {
				if n.VersionID != "" {
					bad[n.VersionID] = true
				}
				continue
			}
			if healthy(n) && !failedChange[j] {
				break
			}
			if failedChange[j] && n.VersionID != "" {
				bad[n.VersionID] = true
			}
		}
		if o.in(start) {
			s.Restore.Incidents++
			if j == len(rs) {
				s.Restore.Open++
			} else {
				g.restore = append(g.restore, rs[j].FinishedAt.Sub(start))
			}
		}
		i = j // records up to the restoring one belong to this incident
	}
	return g
}

// remediated reports whether the succeeded deploy rs[i] was followed within the window,
// before any other deploy went live, by a rollback away from it or by a fix deploy.
//
// A rollback (mage rollback, deploy:abort) remediates the deploy whose version it moved away
// from: its record's previous_version_id is the deploy's version_id, or a version a later
// succeeded secrets change made from it (the same code with new secrets; rollback treats it
// as the same code too). Any other rollback remediates something else: deploy:abort records
// the rollout's new version as its previous version and puts the old one back, so it never
// counts against the deploy it restores; a rollback away from a version whose deploy record
// is missing or damaged counts against no deploy here. A rollback record without a previous
// version (none that this repository writes) remediates nothing.
func remediated(ctx context.Context, rs []history.Record, i int, o Options) bool {
	d := rs[i]
	if d.Status != history.StatusSucceeded {
		return false
	}
	mine := map[string]bool{} // d's code: its version and its secrets copies ("" is never one)
	if d.VersionID != "" {
		mine[d.VersionID] = true
	}
	for _, n := range rs[i+1:] {
		if n.FinishedAt.Sub(d.FinishedAt) > o.RemediationWindow {
			return false
		}
		if n.Status != history.StatusSucceeded {
			continue
		}
		switch n.Kind {
		case history.KindSecrets:
			if mine[n.PreviousVersionID] && n.VersionID != "" {
				mine[n.VersionID] = true
			}
		case history.KindRollback:
			if mine[n.PreviousVersionID] {
				return true
			}
		case history.KindDeploy:
			return isFix(ctx, d.GitSHA, n.GitSHA, o)
		}
	}
	return false
}

func isFix(ctx context.Context, from, to string, o Options) bool {
	if o.Commits == nil || to == "" || to == from {
		return false
	}
	cs, ok := o.Commits(ctx, from, to)
	if !ok || len(cs) == 0 {
		return false
	}
	// Commits come newest first: the deploy's own head commit says what it is for.
	return fixSubject.MatchString(cs[0].Subject)
}

func (g *samples) leadTimes(ctx context.Context, prevSHA string, r history.Record, o Options) {
	if o.Commits == nil {
		g.s.LeadTime.UnknownDeploys++
		return
	}
	from := prevSHA
	if from == r.GitSHA {
		return // the same commit again: no change delivered, nothing to time
	}
	cs, ok := o.Commits(ctx, from, r.GitSHA)
	if !ok {
		g.s.LeadTime.UnknownDeploys++
		return
	}
	for _, c := range cs {
		if d := r.FinishedAt.Sub(c.Time); d > 0 {
			g.lead = append(g.lead, d)
		}
	}
}

func (g *samples) add(o *samples) {
	a, b := &g.s, o.s
	a.Attempts += b.Attempts
	a.Succeeded += b.Succeeded
	a.Failed += b.Failed
	a.RolledBack += b.RolledBack
	a.Interrupted += b.Interrupted
	a.Unchanged += b.Unchanged
	a.Rollbacks += b.Rollbacks
	a.LeadTime.UnknownDeploys += b.LeadTime.UnknownDeploys
	a.ChangeFailure.Changes += b.ChangeFailure.Changes
	a.ChangeFailure.Failed += b.ChangeFailure.Failed
	a.Restore.Incidents += b.Restore.Incidents
	a.Restore.Open += b.Restore.Open
	g.lead = append(g.lead, o.lead...)
	g.restore = append(g.restore, o.restore...)
	g.duration = append(g.duration, o.duration...)
}

// summary turns the samples into the reported figures.
func (g *samples) summary(o Options) Stats {
	s := g.s
	s.SuccessRate = ratio(s.Succeeded, s.Attempts)
	s.ChangeFailure.Rate = ratio(s.ChangeFailure.Failed, s.ChangeFailure.Changes)
	if days := o.Until.Sub(o.Since).Hours() / 24; days > 0 {
		s.DeploysPerDay = round(float64(s.Succeeded)/days, 3)
		s.DeploysPerWeek = round(float64(s.Succeeded)/days*7, 3)
	}
	s.LeadTime.Changes = len(g.lead)
	s.LeadTime.MedianSeconds = secs(median(g.lead))
	s.LeadTime.P90Seconds = secs(rank(g.lead, 90))
	s.Restore.MedianSeconds = secs(median(g.restore))
	s.Duration.Count = len(g.duration)
	s.Duration.P50MS = millis(rank(g.duration, 50))
	s.Duration.P90MS = millis(rank(g.duration, 90))
	s.Duration.P95MS = millis(rank(g.duration, 95))
	s.Duration.MaxMS = millis(rank(g.duration, 100))
	return s
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	v := round(float64(n)/float64(d), 4)
	return &v
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// median is the middle value (the mean of the two middle ones for an even count); nil for none.
func median(ds []time.Duration) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return &m
}

// rank is the nearest-rank percentile p (1..100) of ds; nil for none.
func rank(ds []time.Duration, p int) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(float64(p)/100*float64(len(s)))) - 1
	v := s[max(0, min(i, len(s)-1))]
	return &v
}

func secs(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	v := round(d.Seconds(), 3)
	return &v
}

func millis(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := d.Milliseconds()
	return &v
}
