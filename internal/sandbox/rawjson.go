package sandbox

func rawOrEmpty(b []byte) any {
	if len(b) == 0 {
		return map[string]any{}
	}
	return rawJSON(b)
}

func rawOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return rawJSON(b)
}

// rawJSON embeds stored JSON verbatim.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// rawField tells "absent" from "null" in a PATCH body.
type rawField struct {
	set bool
	raw []byte
}

func (f *rawField) UnmarshalJSON(b []byte) error {
	f.set = true
	if string(b) == "null" {
		f.raw = nil
		return nil
	}
	f.raw = append([]byte(nil), b...)
	return nil
}
