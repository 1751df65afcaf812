package deploy

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
)

// pluginStep runs the plugin scripts of one event as a pipeline step: pre-deploy before the
// lock (a failure refuses the deploy, nothing uploaded), post-deploy after verify (a failure
// rolls back, like a failed health check).
type pluginStep struct{ event plugins.Event }

func (p pluginStep) Name() string { return string(p.event) }
func (p pluginStep) Run(ctx context.Context, st *State) error {
	return st.runPlugins(ctx, p.event, true)
}

// facts are what plugins are told about this deploy.
func (st *State) facts(recordFile string) plugins.Facts {
	r := st.Record
	base := r.URL
	if st.Tenant != nil {
		base = strings.TrimSuffix(r.URL, st.Tenant.Config.HealthCheck.Path)
	}
	version := r.VersionID
	if version == "" {
		version = st.Deployed.VersionID
	}
	return plugins.Facts{Tenant: string(st.Opts.Tenant), Env: string(st.Opts.Env), WorkerName: r.WorkerName, URL: base, HealthURL: r.URL,
		VersionID: version, PreviousVersionID: r.PreviousVersionID, RecordPath: recordFile, Status: string(r.Status), VersionOverride: st.override}
}

// pluginLog is where the plugins' output goes: the run folder when there is one.
func (st *State) pluginLog() string {
	if st.RunDir != "" {
		return filepath.Join(st.RunDir, "plugins.log")
	}
	return filepath.Join(st.Opts.Workspace.RunsDir(), "plugins-"+string(st.Opts.Tenant)+"-"+string(st.Opts.Env)+".log")
}

// runPlugins runs ev's plugins and puts each one's name, exit and duration in the record.
func (st *State) runPlugins(ctx context.Context, ev plugins.Event, stopOnFailure bool) error {
	if st.Opts.Plugins == nil {
		return nil
	}
	log := st.pluginLog()
	runs, err := st.Opts.Plugins.Run(ctx, ev, st.facts(""), log, stopOnFailure)
	st.addPluginRuns(runs, log)
	if err != nil && !stopOnFailure {
		st.Opts.Log.Warn("a plugin failed", "event", ev, "tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err)
		return nil
	}
	return err
}

func (st *State) addPluginRuns(runs []history.PluginRun, log string) {
	if len(runs) == 0 {
		return
	}
	st.Record.Plugins = append(st.Record.Plugins, runs...)
	if rel, err := filepath.Rel(st.Opts.Workspace.Root, log); err == nil {
		log = filepath.ToSlash(rel)
	}
	st.Record.PluginLog = log
}

// notify runs the notify plugins once the record is written. They come after the record, so
// they are not in it: their output and exit statuses are in the plugin log.
func (st *State) notify(ctx context.Context, recordFile string) {
	if st.Opts.Plugins == nil {
		return
	}
	if _, err := st.Opts.Plugins.Run(context.WithoutCancel(ctx), plugins.Notify, st.facts(recordFile), st.pluginLog(), false); err != nil {
		st.Opts.Log.Warn("a notify plugin failed", "tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err, "log", st.pluginLog())
	}
}
