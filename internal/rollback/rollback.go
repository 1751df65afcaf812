package rollback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// API reads what is live for the tenant/env's Worker.
type API interface {
	// Deployments lists the Worker's deployments, newest first.
	Deployments(ctx context.Context) ([]Deployment, error)
	// Versions lists the Worker's newest versions (at most MaxVersions), newest first.
	Versions(ctx context.Context) ([]Version, error)
	// Version reads one version, including its Durable Object migration tag.
	Version(ctx context.Context, id string) (Version, error)
}

// Actor makes a version live at 100%.
type Actor interface {
	// Rollback deploys versionID at 100% with message as the deployment's reason. Unless force
	// is set it must refuse with a *SecretsError, changing nothing, when secrets changed since
	// versionID was deployed. It returns the names of changed secrets it overrode with force.
	// live is what this run planned against: the write is made only while exactly those
	// versions serve, and is checked after (cfapi.DeployVersionChecked).
	Rollback(ctx context.Context, live []string, versionID, message string, force bool) (overridden []string, err error)
}

// Health confirms that the Worker answers healthy and reports the expected version.
type Health interface {
	// Verify polls until healthy with versionID or its deadline passes; the report says what
	// was checked and seen, for the record, in both cases.
	Verify(ctx context.Context, versionID string) (history.Health, error)
}

// Records reads and appends the deployment records of the tenant/env.
type Records interface {
	// List returns the records; one that is damaged comes back with Damaged set, not as an
	// error, so that one bad file cannot disable rollbacks.
	List(ctx context.Context) ([]Record, error)
	// Reserve is called with the lock held, before anything changes: it records what a killed
	// earlier attempt left (live is the version serving now), returning that record's file,
	// and reserves this attempt's record, failing when the records folder cannot take it.
	Reserve(ctx context.Context, o Outcome, live []string) (settled string, err error)
	// Write appends the outcome as a kind "rollback" record and returns its file name; it
	// also ends the reservation.
	Write(ctx context.Context, o Outcome) (file string, err error)
}

// Locker takes the tenant/env lock that deploys take, or fails at once naming the holder.
type Locker func(ctx context.Context) (release func() error, err error)

// Deps are the parts a rollback works with; every field is required except Log and Now.
type Deps struct {
	API     API
	Actor   Actor
	Health  Health
	Records Records
	Lock    Locker
	Log     *slog.Logger
	Now     func() time.Time
}

// Request is what the operator asked for.
type Request struct {
	Tenant tenant.Name
	Env    tenant.Env
	Worker string
	// To names the target version; empty means "the previous good one".
	To string
	// Force overrides the changed-secrets refusal.
	Force bool
	// Reason goes into the deployment's message and the record.
	Reason string
	// Actor is who asked (git user or CI identity), for the record.
	Actor string
}

// The statuses of an Outcome.
const (
	StatusSucceeded   = "succeeded"
	StatusAlreadyLive = "already_live"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Step is one timed stage of the rollback, for the record.
type Step struct {
	Name     string        `json:"name"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
}

// Outcome is what happened; it is printed, and recorded once the rollback acted.
type Outcome struct {
	Tenant        string `json:"tenant"`
	Env           string `json:"env"`
	Worker        string `json:"worker_name"`
	Status        string `json:"status"`
	FromVersionID string `json:"from_version_id"`
	ToVersionID   string `json:"to_version_id"`
	Source        Source `json:"target_source"`
	Why           string `json:"target_why"`
	Reason        string `json:"reason"`
	Actor         string `json:"actor"`
	Forced        bool   `json:"forced"`
	// OverriddenSecrets are the changed secrets a forced rollback went past.
	OverriddenSecrets []string        `json:"overridden_secrets,omitempty"`
	Health            *history.Health `json:"health,omitempty"`
	Error             string          `json:"error,omitempty"`
	Steps             []Step          `json:"steps"`
	StartedAt         time.Time       `json:"started_at"`
	FinishedAt        time.Time       `json:"finished_at"`
	// RecordFile is the record written for this attempt.
	RecordFile string `json:"record_file,omitempty"`
	// Warnings are what the operator should know that did not stop the rollback (a damaged
	// record skipped, say).
	Warnings []string `json:"warnings,omitempty"`
	// SettledRecordFile is the record written for what a killed earlier attempt left.
	SettledRecordFile string `json:"settled_record_file,omitempty"`
}

// Run rolls req.Tenant/req.Env back. It returns an error for every end but "succeeded" and
// "already_live". Refusals (no target, not listed, migration, changed secrets, lock held)
// change nothing on Cloudflare and are recorded as failed, like refused deploys. Once it has
// acted, it always writes a record, also when ctx is cancelled (status "interrupted").
func Run(ctx context.Context, d Deps, req Request) (Outcome, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	o := Outcome{Tenant: string(req.Tenant), Env: string(req.Env), Worker: req.Worker, Reason: req.Reason, Actor: req.Actor, Forced: req.Force, StartedAt: d.Now()}
	where := fmt.Sprintf("rollback %s/%s", req.Tenant, req.Env)
	step := func(name string, f func() error) error {
		start := d.Now()
		err := f()
		o.Steps = append(o.Steps, Step{Name: name, Start: start, Duration: d.Now().Sub(start)})
		d.Log.Debug("rollback step", "tenant", req.Tenant, "env", req.Env, "step", name, "took", d.Now().Sub(start).Round(time.Millisecond), "err", err)
		return err
	}

	var deps []Deployment
	var target Target
	err := step("plan", func() error {
		var err error
		if deps, err = d.API.Deployments(ctx); err != nil {
			return fmt.Errorf("read deployments of %s: %w", req.Worker, err)
		}
		if o.FromVersionID, err = Live(deps); err != nil {
			return fmt.Errorf("%w: %s has never been deployed, so there is nothing to roll back", err, req.Worker)
		}
		var recs []Record
		if req.To == "" {
			// Only the choice of a target needs the history: -to works without it.
			all, err := d.Records.List(ctx)
			if err != nil {
				return fmt.Errorf("read deployment records: %w", err)
			}
			for _, r := range all {
				if r.Damaged != "" {
					w := fmt.Sprintf("skipped the damaged record %s (%s); `go tool mage history:verify` names it: restore it from git or fix it", r.File, r.Damaged)
					o.Warnings = append(o.Warnings, w)
					d.Log.Warn("skipping a damaged deployment record", "tenant", req.Tenant, "env", req.Env, "file", r.File, "err", r.Damaged)
					continue
				}
				recs = append(recs, r)
			}
		}
		target, err = Choose(recs, deps, o.FromVersionID, req.To)
		return err
	})
	if err != nil {
		return refused(ctx, d, o, where, fmt.Errorf("plan: %w", err))
	}
	o.ToVersionID, o.Source, o.Why = target.VersionID, target.Source, target.Why
	// Already live means alone at 100%: a version that carries most of a split (a rollout
	// killed mid-way) still needs the deployment that gives it all the traffic.
	if _, whole := deps[0].whole(); target.VersionID == o.FromVersionID && whole {
		o.Status, o.FinishedAt = StatusAlreadyLive, d.Now()
		return o, nil
	}

	err = step("check", func() error {
		versions, err := d.API.Versions(ctx)
		if err != nil {
			return fmt.Errorf("list versions of %s: %w", req.Worker, err)
		}
		if err := CheckListed(versions, target.VersionID); err != nil {
			return err
		}
		tv, err := d.API.Version(ctx, target.VersionID)
		if err != nil {
			return fmt.Errorf("read target version %s: %w", target.VersionID, err)
		}
		lv, err := d.API.Version(ctx, o.FromVersionID)
		if err != nil {
			return fmt.Errorf("read live version %s: %w", o.FromVersionID, err)
		}
		return CheckMigration(tv, lv)
	})
	if err != nil {
		return refused(ctx, d, o, where, fmt.Errorf("check: %w", err))
	}

	var release func() error
	if err := step("lock", func() (err error) { release, err = d.Lock(ctx); return err }); err != nil {
		if errors.Is(err, lock.ErrTeamHeld) {
			// Another machine holds the lease: no record, which would fork the team's chain.
			return o, fmt.Errorf("%s: lock: %w", where, err)
		}
		return refused(ctx, d, o, where, fmt.Errorf("lock: %w", err))
	}
	defer func() {
		if rerr := release(); rerr != nil {
			d.Log.Warn("releasing the lock failed", "tenant", req.Tenant, "env", req.Env, "err", rerr)
		}
	}()

	// A deploy may have finished between planning and taking the lock: never roll back from
	// a version the operator did not see.
	err = step("recheck", func() error {
		now, err := d.API.Deployments(ctx)
		if err != nil {
			return fmt.Errorf("read deployments of %s: %w", req.Worker, err)
		}
		if live, _ := Live(now); live != o.FromVersionID {
			return fmt.Errorf("the live version changed from %s to %s while the lock was taken; run the rollback again to plan against it", o.FromVersionID, live)
		}
		return nil
	})
	if err != nil {
		return refused(ctx, d, o, where, fmt.Errorf("check: %w", err))
	}
	// Before the deployment changes: the record store must take this attempt's record.
	err = step("reserve", func() error {
		var err error
		o.SettledRecordFile, err = d.Records.Reserve(ctx, o, deps[0].serving())
		return err
	})
	if err != nil {
		return refused(ctx, d, o, where, fmt.Errorf("record: %w", err))
	}
	if o.SettledRecordFile != "" {
		o.Warnings = append(o.Warnings, "the previous attempt on "+o.Tenant+"/"+o.Env+" was killed before it finished; recorded it as interrupted in "+o.SettledRecordFile)
	}

	message := req.Reason
	if message == "" {
		message = "rollback to " + target.VersionID
	}
	err = step("rollback", func() error {
		var err error
		o.OverriddenSecrets, err = d.Actor.Rollback(ctx, deps[0].serving(), target.VersionID, message, req.Force)
		return err
	})
	var secrets *SecretsError
	if errors.As(err, &secrets) && ctx.Err() == nil {
		// Refused before anything changed.
		return refused(ctx, d, o, where, err)
	}
	if err == nil {
		err = step("verify", func() error {
			h, err := d.Health.Verify(ctx, target.VersionID)
			o.Health = &h
			if err != nil {
				return fmt.Errorf("health of %s after the rollback: %w", target.VersionID, err)
			}
			return nil
		})
	}
	return finish(ctx, d, o, where, err)
}

// refused records a rollback that was refused before it changed anything (status failed,
// the error saying why) and returns that error.
func refused(ctx context.Context, d Deps, o Outcome, where string, err error) (Outcome, error) {
	if ctx.Err() != nil {
		return finish(ctx, d, o, where, err)
	}
	o.Status, o.Error, o.FinishedAt = StatusFailed, "refused: "+err.Error(), d.Now()
	file, werr := d.Records.Write(context.WithoutCancel(ctx), o)
	o.RecordFile = file
	if werr != nil {
		return o, errors.Join(fmt.Errorf("%s: %w", where, err), fmt.Errorf("%s: record: %w", where, werr))
	}
	return o, fmt.Errorf("%s: %w", where, err)
}

// finish records the attempt. The record is written even when ctx was cancelled: the
// deployment may have changed, and the history must say so.
func finish(ctx context.Context, d Deps, o Outcome, where string, err error) (Outcome, error) {
	switch {
	case ctx.Err() != nil:
		o.Status = StatusInterrupted
		if err == nil {
			err = ctx.Err()
		}
		err = fmt.Errorf("interrupted (%w); check what is live with `go tool mage history %s %s` and the health URL", err, o.Tenant, o.Env)
	case err != nil:
		o.Status = StatusFailed
	default:
		o.Status = StatusSucceeded
	}
	if err != nil {
		o.Error = err.Error()
	}
	o.FinishedAt = d.Now()
	file, werr := d.Records.Write(context.WithoutCancel(ctx), o)
	o.RecordFile = file
	if werr != nil {
		werr = fmt.Errorf("%s: record: %w", where, werr)
		if err == nil {
			return o, werr
		}
		return o, errors.Join(fmt.Errorf("%s: %w", where, err), werr)
	}
	if err != nil {
		return o, fmt.Errorf("%s: %w", where, err)
	}
	return o, nil
}
