package rollback

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func rec(file, kind, status, version, from string, minute int) Record {
	return Record{File: file, Kind: kind, Status: status, VersionID: version, FromVersionID: from, At: t0.Add(time.Duration(minute) * time.Minute)}
}

func dep(id string, minute int, shares ...Share) Deployment {
	return Deployment{ID: id, CreatedOn: t0.Add(time.Duration(minute) * time.Minute), Versions: shares}
}

func full(v string) Share { return Share{VersionID: v, Percentage: 100} }

func TestChoose(t *testing.T) {
	twoDeploys := []Record{
		rec("a-1.json", "deploy", "succeeded", "v1", "", 1),
		rec("a-2.json", "deploy", "succeeded", "v2", "", 2),
	}
	cases := []struct {
		name     string
		records  []Record
		deps     []Deployment
		live, to string
		want     string
		source   Source
		wantErr  error
	}{
		{name: "previous succeeded deploy", records: twoDeploys, live: "v2", want: "v1", source: FromHistory},
		{name: "records in any order", records: []Record{twoDeploys[1], twoDeploys[0]}, live: "v2", want: "v1", source: FromHistory},
		{name: "-to wins", records: twoDeploys, live: "v2", to: "v9", want: "v9", source: FromFlag},
		{name: "-to of the live version is returned as is", records: twoDeploys, live: "v2", to: "v2", want: "v2", source: FromFlag},
		{name: "failed and rolled back deploys are skipped", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "deploy", "failed", "v2", "", 2),
			rec("3", "deploy", "rolled_back", "v3", "", 3),
			rec("4", "deploy", "succeeded", "v4", "", 4),
		}, live: "v4", want: "v1", source: FromHistory},
		{name: "records newer than the live one are ignored", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "deploy", "succeeded", "v2", "", 2),
			rec("3", "deploy", "succeeded", "v3", "", 3),
		}, live: "v2", want: "v1", source: FromHistory},
		{name: "live deployed outside the tool: newest good record", records: twoDeploys, live: "vx", want: "v2", source: FromHistory},
		{name: "a version rolled back from is not gone back to", records: []Record{
			rec("1", "deploy", "succeeded", "v0", "", 0),
			rec("2", "deploy", "succeeded", "v1", "", 1),
			rec("3", "deploy", "succeeded", "v2", "", 2),
			rec("4", "rollback", "succeeded", "v1", "v2", 3),
		}, live: "v1", want: "v0", source: FromHistory},
		{name: "after a failed rollback neither its source nor its target is chosen", records: []Record{
			rec("1", "deploy", "succeeded", "v0", "", 0),
			rec("2", "deploy", "succeeded", "v1", "", 1),
			rec("3", "deploy", "succeeded", "v2", "", 2),
			rec("4", "rollback", "failed", "v1", "v2", 3),
		}, live: "v1", want: "v0", source: FromHistory},
		{name: "no records: previous 100% deployment", deps: []Deployment{
			dep("d3", 3, full("v3")),
			dep("d2", 2, Share{"v3", 10}, Share{"v2", 90}),
			dep("d1", 1, full("v1")),
		}, live: "v3", want: "v1", source: FromDeployments},
		{name: "no records, one deployment", deps: []Deployment{dep("d1", 1, full("v1"))}, live: "v1", wantErr: ErrNoTarget},
		{name: "right after secrets:put: no earlier code version", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "secrets", "succeeded", "v2", "v1", 2),
		}, deps: []Deployment{dep("d2", 2, full("v2")), dep("d1", 1, full("v1"))}, live: "v2", wantErr: ErrNoTarget},
		{name: "after two secrets changes: no earlier code version", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "secrets", "succeeded", "v2", "v1", 2),
			rec("3", "secrets", "succeeded", "v3", "v2", 3),
		}, deps: []Deployment{dep("d3", 3, full("v3")), dep("d2", 2, full("v2")), dep("d1", 1, full("v1"))}, live: "v3", wantErr: ErrNoTarget},
		{name: "after secrets:put: the code version before the live code", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "deploy", "succeeded", "v2", "", 2),
			rec("3", "secrets", "succeeded", "v3", "v2", 3),
		}, live: "v3", want: "v1", source: FromHistory},
		{name: "a secrets version before the live code is a target", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "secrets", "succeeded", "v2", "v1", 2),
			rec("3", "deploy", "succeeded", "v3", "", 3),
		}, live: "v3", want: "v2", source: FromHistory},
		{name: "only bad versions left", records: []Record{
			rec("1", "deploy", "succeeded", "v1", "", 1),
			rec("2", "deploy", "succeeded", "v2", "", 2),
			rec("3", "rollback", "succeeded", "v1", "v2", 3),
		}, deps: []Deployment{dep("d3", 3, full("v1")), dep("d2", 2, full("v2")), dep("d1", 1, full("v1"))},
			live: "v1", wantErr: ErrNoTarget},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Choose(c.records, c.deps, c.live, c.to)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				if !strings.Contains(err.Error(), "-to=") {
					t.Errorf("error does not say what to do next: %v", err)
				}
				if strings.Contains(c.name, "secrets") && (!strings.Contains(err.Error(), "no earlier code version") || !strings.Contains(err.Error(), "v1")) {
					t.Errorf("error does not say there is no earlier code version: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.VersionID != c.want || got.Source != c.source {
				t.Errorf("Choose = %s from %s, want %s from %s", got.VersionID, got.Source, c.want, c.source)
			}
		})
	}
}

func TestLive(t *testing.T) {
	if _, err := Live(nil); !errors.Is(err, ErrNotDeployed) {
		t.Errorf("Live(nil) err = %v", err)
	}
	got, err := Live([]Deployment{dep("d", 1, Share{"a", 30}, Share{"b", 70})})
	if err != nil || got != "b" {
		t.Errorf("Live = %q, %v; want b", got, err)
	}
}

func TestCheckMigration(t *testing.T) {
	if err := CheckMigration(Version{ID: "a", MigrationTag: "v1"}, Version{ID: "b", MigrationTag: "v1"}); err != nil {
		t.Errorf("same tag refused: %v", err)
	}
	err := CheckMigration(Version{ID: "a", MigrationTag: "v1"}, Version{ID: "b", MigrationTag: "v2"})
	if !errors.Is(err, ErrMigration) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"v1", "v2", Runbook} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("migration error lacks %q: %v", want, err)
		}
	}
}

func TestCheckListed(t *testing.T) {
	vs := []Version{{ID: "a"}, {ID: "b"}}
	if err := CheckListed(vs, "b"); err != nil {
		t.Error(err)
	}
	if err := CheckListed(vs, "c"); !errors.Is(err, ErrNotListed) {
		t.Errorf("err = %v", err)
	}
}

func TestParseChangedSecrets(t *testing.T) {
	cases := map[string][]string{
		"The following secrets have changed: B_KEY, A_KEY":              {"A_KEY", "B_KEY"},
		"The following secrets have changed: ONE [code: 10220]":         {"ONE"},
		"cloudflare api: ...; The following secrets have changed: X, X": {"X"},
		"something else": nil,
	}
	for in, want := range cases {
		got := ParseChangedSecrets(in)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ParseChangedSecrets(%q) = %q, want %q", in, got, want)
		}
	}
}
