package sandbox

// Read accessors for tests and tools. Each returns copies, so callers may keep or change them.

// ScriptInfo is what the sandbox knows about one Worker, without its versions.
type ScriptInfo struct {
	Name         string
	Tag          string
	Tags         []string
	MigrationTag string
	Subdomain    SubdomainSettings
	Routes       []Route
	Domains      []Domain
	Settings     ScriptSettings
}

func (s *Server) scriptLocked(accountID, script string) *scriptState {
	if a := s.w.Accounts[accountID]; a != nil {
		return a.Scripts[script]
	}
	return nil
}

// Script describes a Worker; ok is false when it does not exist.
func (s *Server) Script(accountID, script string) (ScriptInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scriptLocked(accountID, script)
	if sc == nil {
		return ScriptInfo{}, false
	}
	return ScriptInfo{
		Name: sc.Name, Tag: sc.Tag, Tags: append([]string(nil), sc.Tags...), MigrationTag: sc.MigrationTag,
		Subdomain: sc.Subdomain, Routes: append([]Route(nil), sc.Routes...), Domains: append([]Domain(nil), sc.Domains...),
		Settings: sc.ScriptSettings,
	}, true
}

// Live is the current deployment of a Worker; ok is false before the first one.
func (s *Server) Live(accountID, script string) (Deployment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scriptLocked(accountID, script)
	if sc == nil || sc.live() == nil {
		return Deployment{}, false
	}
	return sc.live().clone(), true
}

// Deployments lists a Worker's deployments, newest first.
func (s *Server) Deployments(accountID, script string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	if sc := s.scriptLocked(accountID, script); sc != nil {
		for _, d := range sc.Deployments {
			out = append(out, d.clone())
		}
	}
	return out
}

// Versions lists a Worker's versions, newest first.
func (s *Server) Versions(accountID, script string) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Version
	if sc := s.scriptLocked(accountID, script); sc != nil {
		for _, v := range sc.Versions {
			out = append(out, v.clone())
		}
	}
	return out
}

// Version finds one version by id.
func (s *Server) Version(accountID, script, versionID string) (Version, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.scriptLocked(accountID, script); sc != nil {
		if v := sc.version(versionID); v != nil {
			return v.clone(), true
		}
	}
	return Version{}, false
}

// Secrets lists the names of a Worker's secrets, sorted.
func (s *Server) Secrets(accountID, script string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.scriptLocked(accountID, script); sc != nil {
		return sortedKeys(sc.Secrets)
	}
	return nil
}

// Schedules lists a Worker's cron expressions in the order they were set.
func (s *Server) Schedules(accountID, script string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if sc := s.scriptLocked(accountID, script); sc != nil {
		for _, x := range sc.Schedules {
			out = append(out, x.Cron)
		}
	}
	return out
}
