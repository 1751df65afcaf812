package cfapi

import (
	"strings"
	"testing"
)

func TestBindingsCompareByMeaningNotByForm(t *testing.T) {
	repo := []byte(`[
	  {"name":"TENANT_ID","type":"plain_text","text":"mrrainbowsmoke"},
	  {"type":"kv_namespace","name":"CACHE","namespace_id":"0f2a"},
	  {"name":"COUNTER","type":"durable_object_namespace","class_name":"Counter"},
	  {"name":"AI","type":"ai"}]`)
	live := []byte(`[{"name":"AI","type":"ai","script_name":null},
	  {"class_name":"Counter","name":"COUNTER","type":"durable_object_namespace","environment":""},
	  {"namespace_id":"0f2a","name":"CACHE","type":"kv_namespace"},
	  {"name":"TENANT_ID","text":"mrrainbowsmoke","type":"plain_text"},
	  {"name":"WEBHOOK_SIGNING_KEY","type":"secret_text"}]`)
	want, err := ParseBindings(repo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBindings(live)
	if err != nil {
		t.Fatal(err)
	}
	if d := CompareBindings(want, got.WithoutSecrets()); !d.Empty() {
		t.Fatalf("same bindings in another order and form reported as different: %+v", d)
	}
	d := CompareBindings(want, got)
	if len(d.Unexpected) != 1 || d.Unexpected[0].Name != "WEBHOOK_SIGNING_KEY" {
		t.Fatalf("the secret should be the only unexpected binding: %+v", d)
	}
}

func TestBindingDiffNamesEachChange(t *testing.T) {
	want, _ := ParseBindings([]byte(`[{"name":"A","type":"plain_text","text":"1"},{"name":"B","type":"ai"},{"name":"C","type":"kv_namespace","namespace_id":"x"}]`))
	got, _ := ParseBindings([]byte(`[{"name":"A","type":"plain_text","text":"2"},{"name":"C","type":"kv_namespace","namespace_id":"x"},{"name":"D","type":"ai"}]`))
	d := CompareBindings(want, got)
	if len(d.Missing) != 1 || d.Missing[0].Name != "B" {
		t.Errorf("missing: %+v", d.Missing)
	}
	if len(d.Unexpected) != 1 || d.Unexpected[0].Name != "D" {
		t.Errorf("unexpected: %+v", d.Unexpected)
	}
	if len(d.Changed) != 1 || d.Changed[0].Want.Props["text"] != `"1"` || d.Changed[0].Got.Props["text"] != `"2"` {
		t.Errorf("changed: %+v", d.Changed)
	}
	if s := d.Changed[0].Got.String(); s != `plain_text A {"text":"2"}` {
		t.Errorf("String() = %s", s)
	}
}

func TestSecretTextIsNeverPrinted(t *testing.T) {
	bs, err := ParseBindings([]byte(`[{"name":"K","type":"secret_text","text":"hunter2"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(bs[0].String(), "hunter2") {
		t.Fatalf("secret value printed: %s", bs[0])
	}
}

func TestParseBindingsRejectsBadInput(t *testing.T) {
	for _, in := range []string{`{}`, `[1]`, `[{"type":"ai"}]`, `[{"name":"X"}]`, `not json`} {
		if _, err := ParseBindings([]byte(in)); err == nil {
			t.Errorf("ParseBindings(%s) accepted", in)
		}
	}
}

// BindingDiff is how a live set of bindings differs from the wanted one.
type BindingDiff struct {
	Missing    Bindings        // wanted, not live
	Unexpected Bindings        // live, not wanted
	Changed    []BindingChange // same name, different type or properties
}

// BindingChange is one binding whose name matches but whose content does not.
type BindingChange struct {
	Want, Got Binding
}

// Empty reports whether the two sets were the same.
func (d BindingDiff) Empty() bool {
	return len(d.Missing) == 0 && len(d.Unexpected) == 0 && len(d.Changed) == 0
}

// CompareBindings matches bindings by name (names are unique within a Worker), so order never
// counts as a difference.
func CompareBindings(want, got Bindings) BindingDiff {
	var d BindingDiff
	for _, w := range want {
		g, ok := got.ByName(w.Name)
		switch {
		case !ok:
			d.Missing = append(d.Missing, w)
		case !w.Equal(g):
			d.Changed = append(d.Changed, BindingChange{Want: w, Got: g})
		}
	}
	for _, g := range got {
		if _, ok := want.ByName(g.Name); !ok {
			d.Unexpected = append(d.Unexpected, g)
		}
	}
	return d
}
