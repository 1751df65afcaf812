package jsonc

import "testing"

func TestPositionsMapToOriginalText(t *testing.T) {
	src := "// leading comment\n{\n  /* a */ \"a\": [1, 2,],\n  \"b\": { \"c\": \"x\" }, // trailing\n}\n"
	d, err := Parse("x.jsonc", []byte(src), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ptr       string
		key       bool
		line, col int
	}{
		{"", false, 2, 1},
		{"/a", false, 3, 16},
		{"/a", true, 3, 11},
		{"/a/1", false, 3, 20},
		{"/b/c", false, 4, 15},
		{"/b/c", true, 4, 10},
		{"/b/missing", false, 4, 8}, // falls back to the nearest present ancestor
	} {
		var line, col int
		if tc.key {
			line, col = d.KeyPosition(tc.ptr)
		} else {
			line, col = d.Position(tc.ptr)
		}
		if line != tc.line || col != tc.col {
			t.Errorf("position(%q, key=%v) = %d:%d, want %d:%d", tc.ptr, tc.key, line, col, tc.line, tc.col)
		}
	}
	if string(d.Raw) != src {
		t.Error("Raw was modified by standardizing")
	}
}
