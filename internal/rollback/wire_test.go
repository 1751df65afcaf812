package rollback

import (
	"context"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// The records adapter gives Choose what a secrets change was made from, so that a rollback
// right after secrets:put does not pick the live code's older copy.
func TestRecordsListCarriesWhatASecretsChangeWasMadeFrom(t *testing.T) {
	st := history.Open(t.TempDir())
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, r := range []history.Record{
		{Kind: history.KindDeploy, Status: history.StatusSucceeded, VersionID: "v1"},
		{Kind: history.KindSecrets, Status: history.StatusSucceeded, PreviousVersionID: "v1", VersionID: "v2"},
	} {
		r.Tenant, r.Env = "acme", "staging"
		r.StartedAt = at.Add(time.Duration(i) * time.Minute)
		if _, err := st.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := records{store: st, tenant: "acme", env: "staging"}.List(context.Background())
	if err != nil || len(recs) != 2 || recs[0].Kind != "secrets" || recs[0].FromVersionID != "v1" || recs[1].FromVersionID != "" {
		t.Fatalf("List = %+v, %v", recs, err)
	}
	if _, err := Choose(recs, nil, "v2", ""); err == nil {
		t.Error("Choose picked the live code's copy after secrets:put")
	}
}
