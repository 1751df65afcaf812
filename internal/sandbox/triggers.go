package sandbox

import (
	"net/http"
	"slices"
	"strings"
)

// ---- schedules --------------------------------------------------------------------------

func (s *Server) getSchedules(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	return map[string]any{"schedules": schedulesOrEmpty(sc.Schedules)}, nil
}

func schedulesOrEmpty(s []Schedule) []Schedule {
	if s == nil {
		return []Schedule{}
	}
	return s
}

func (s *Server) putSchedules(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body []struct {
		Cron string `json:"cron"`
	}
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	crons := make([]string, 0, len(body))
	for i, b := range body {
		if strings.TrimSpace(b.Cron) == "" {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "schedule %d has no cron expression", i)
		}
		crons = append(crons, b.Cron)
	}
	s.setSchedulesLocked(sc, crons)
	return map[string]any{"schedules": schedulesOrEmpty(sc.Schedules)}, nil
}

// setSchedulesLocked replaces the crons, keeping created_on of the ones that stay.
func (s *Server) setSchedulesLocked(sc *scriptState, crons []string) {
	now := s.stampLocked()
	next := make([]Schedule, 0, len(crons))
	for _, cr := range crons {
		created := now
		if i := slices.IndexFunc(sc.Schedules, func(x Schedule) bool { return x.Cron == cr }); i >= 0 {
			created = sc.Schedules[i].CreatedOn
		}
		next = append(next, Schedule{Cron: cr, CreatedOn: created, ModifiedOn: now})
	}
	sc.Schedules = next
}

// ---- workers.dev ------------------------------------------------------------------------

func (s *Server) getAccountSubdomain(c *call) (any, error) {
	return map[string]string{"subdomain": c.acct.Subdomain}, nil
}

func (s *Server) getScriptSubdomain(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	return sc.Subdomain, nil
}

func (s *Server) postScriptSubdomain(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body struct {
		Enabled         *bool `json:"enabled"`
		PreviewsEnabled *bool `json:"previews_enabled"`
	}
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	if body.Enabled == nil {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "enabled is required")
	}
	sc.Subdomain.Enabled = *body.Enabled
	// Without previews_enabled, previews follow enabled, as Cloudflare answers (wrangler's
	// own API mock does the same).
	sc.Subdomain.PreviewsEnabled = *body.Enabled
	if body.PreviewsEnabled != nil {
		sc.Subdomain.PreviewsEnabled = *body.PreviewsEnabled
	}
	return sc.Subdomain, nil
}

func (s *Server) deleteScriptSubdomain(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	sc.Subdomain = SubdomainSettings{}
	return nil, nil
}

// ---- routes and custom domains ----------------------------------------------------------

func (s *Server) getScriptRoutes(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	return routesOrEmpty(sc.Routes), nil
}

func (s *Server) putScriptRoutes(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body []Route
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	for i := range body {
		if body[i].Pattern == "" {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "route %d has no pattern", i)
		}
		body[i].ID = randHex(16)
		body[i].Script = sc.Name
		if body[i].ZoneID == "" {
			body[i].ZoneID = s.zoneIDForLocked(body[i].ZoneName, body[i].Pattern)
		}
	}
	sc.Routes = body
	return routesOrEmpty(sc.Routes), nil
}

// zoneIDForLocked finds the known zone for a route: by zone name, else the longest known
// zone the host ends with. "" when none is known.
func (s *Server) zoneIDForLocked(zoneName, hostOrPattern string) string {
	if id, ok := s.w.Zones[zoneName]; ok {
		return id
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(hostOrPattern, "*."), "/")
	best, bestID := "", ""
	for name, id := range s.w.Zones {
		if (host == name || strings.HasSuffix(host, "."+name)) && len(name) > len(best) {
			best, bestID = name, id
		}
	}
	return bestID
}

func (s *Server) zoneNameLocked(id string) string {
	for name, zid := range s.w.Zones {
		if zid == id {
			return name
		}
	}
	return ""
}

func (s *Server) putDomainRecords(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body struct {
		Origins []struct {
			Hostname string `json:"hostname"`
			ZoneID   string `json:"zone_id"`
			ZoneName string `json:"zone_name"`
		} `json:"origins"`
	}
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	domains := make([]Domain, 0, len(body.Origins))
	for i, o := range body.Origins {
		if o.Hostname == "" {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "origin %d has no hostname", i)
		}
		zid := o.ZoneID
		if zid == "" {
			zid = s.zoneIDForLocked(o.ZoneName, o.Hostname)
		}
		zname := o.ZoneName
		if zname == "" {
			zname = s.zoneNameLocked(zid)
		}
		domains = append(domains, Domain{
			ID: randHex(16), CertID: randHex(16), Environment: "production",
			Hostname: o.Hostname, Service: sc.Name, ZoneID: zid, ZoneName: zname,
		})
	}
	sc.Domains = domains
	return domains, nil
}

func (s *Server) postDomainChangeset(c *call) (any, error) {
	sc, err := c.existing()
	if err != nil {
		return nil, err
	}
	var body []struct {
		Hostname string `json:"hostname"`
	}
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	added := []any{}
	for _, b := range body {
		if !slices.ContainsFunc(sc.Domains, func(d Domain) bool { return d.Hostname == b.Hostname }) {
			added = append(added, map[string]string{"hostname": b.Hostname})
		}
	}
	return map[string]any{"added": added, "removed": []any{}, "updated": []any{}, "conflicting": []any{}}, nil
}

func (s *Server) listDomains(c *call) (any, error) {
	q := c.r.URL.Query()
	out := []Domain{}
	for _, name := range sortedKeys(c.acct.Scripts) {
		for _, d := range c.acct.Scripts[name].Domains {
			if f := q.Get("service"); f != "" && d.Service != f ||
				q.Get("hostname") != "" && d.Hostname != q.Get("hostname") ||
				q.Get("zone_id") != "" && d.ZoneID != q.Get("zone_id") ||
				q.Get("zone_name") != "" && d.ZoneName != q.Get("zone_name") ||
				q.Get("environment") != "" && d.Environment != q.Get("environment") {
				continue
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// ---- zones ------------------------------------------------------------------------------

func (s *Server) listZones(c *call) (any, error) {
	page, perPage, err := pageParams(c.r, 20, 50)
	if err != nil {
		return nil, err
	}
	name := c.r.URL.Query().Get("name")
	all := []any{}
	for _, zn := range sortedKeys(s.w.Zones) {
		if name != "" && zn != name {
			continue
		}
		all = append(all, zoneJSON(s.w.Zones[zn], zn, c.acct))
	}
	lo, hi := pageBounds(len(all), page, perPage)
	return paged{result: all[lo:hi], info: pageInfo(page, perPage, hi-lo, len(all))}, nil
}

func (s *Server) listZoneRoutes(c *call) (any, error) {
	zone := c.r.PathValue("zone")
	out := []Route{}
	for _, id := range sortedKeys(s.w.Accounts) {
		acct := s.w.Accounts[id]
		for _, name := range sortedKeys(acct.Scripts) {
			for _, r := range acct.Scripts[name].Routes {
				if r.ZoneID == zone {
					out = append(out, r)
				}
			}
		}
	}
	out = append(out, s.w.ZoneRoutes[zone]...)
	return out, nil
}

func (s *Server) postZoneRoute(c *call) (any, error) {
	zone := c.r.PathValue("zone")
	if s.zoneNameLocked(zone) == "" {
		return nil, errf(http.StatusNotFound, codeNoRoute, "zone %s does not exist", zone)
	}
	var body Route
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	if body.Pattern == "" {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "a route needs a pattern")
	}
	body.ID, body.ZoneID = randHex(16), zone
	s.w.ZoneRoutes[zone] = append(s.w.ZoneRoutes[zone], body)
	return body, nil
}

// ---- accounts, user, tokens ----------------------------------------------------------------

// getUser refuses: sandbox tokens are account tokens, which cannot read the user; wrangler
// tolerates code 9109 here.
func (s *Server) getUser(c *call) (any, error) {
	return nil, errf(http.StatusForbidden, codeUserForbidden, "Unauthorized to access requested resource")
}

func (s *Server) listMemberships(c *call) (any, error) {
	m := []any{map[string]any{
		"id": c.acct.ID, "status": "accepted",
		"account": accountJSON(c.acct),
	}}
	return paged{result: m, info: pageInfo(1, 20, 1, 1)}, nil
}

func (s *Server) listAccounts(c *call) (any, error) {
	a := []any{accountJSON(c.acct)}
	return paged{result: a, info: pageInfo(1, 20, 1, 1)}, nil
}

func (s *Server) getAccount(c *call) (any, error) {
	return accountJSON(c.acct), nil
}

// accountJSON is an account as cloudflare-go's accounts.Account requires it (id, name, type).
func accountJSON(a *accountState) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "type": "standard"}
}

// zoneStamp is every zone's creation time: the sandbox does not track when a zone was added,
// and cloudflare-go's zones.Zone requires the times.
const zoneStamp = "2026-01-01T00:00:00.000000Z"

// zoneJSON is a zone with every field cloudflare-go's zones.Zone requires; the sandbox has
// no DNS, so the name servers and plan are placeholders.
func zoneJSON(id, name string, a *accountState) map[string]any {
	return map[string]any{
		"id": id, "name": name, "status": "active", "paused": false, "type": "full",
		"account":          map[string]string{"id": a.ID, "name": a.Name},
		"activated_on":     zoneStamp,
		"created_on":       zoneStamp,
		"modified_on":      zoneStamp,
		"development_mode": 0,
		"meta":             map[string]any{"phishing_detected": false},
		"name_servers":     []string{"ns1.sandbox.invalid", "ns2.sandbox.invalid"},
		"original_dnshost": nil, "original_name_servers": nil, "original_registrar": nil,
		"owner": map[string]any{"id": a.ID, "name": a.Name, "type": "organization"},
		"plan":  map[string]any{"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "legacy_id": "free", "is_subscribed": true, "price": 0, "currency": "USD", "frequency": "", "can_subscribe": false, "externally_managed": false, "legacy_discount": false},
	}
}
