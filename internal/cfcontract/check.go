package cfcontract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Exchange is one request and answer; it has the fields of sandbox.Exchange, so a test
// converts one with cfcontract.Exchange(ex).
type Exchange exchangeFields

// Problem is one way an exchange breaks the contract.
type Problem struct {
	Route string // the pattern, or METHOD path when no route served it
	Side  string // "answer" or "request"
	Field string // dotted path ("result.deployments[].created_on"); "" for the whole body
	What  string
}

func (p Problem) String() string {
	f := p.Field
	if f == "" {
		f = "(body)"
	}
	return fmt.Sprintf("%s: %s field %s: %s", p.Route, p.Side, f, p.What)
}

// Checked says which required fields a check looked at, for the figures in the note.
type Checked struct {
	Fields map[string]bool // "route side field"
}

// Check judges one exchange against the table. Answers that are errors (success false) are
// judged as envelopes only; the result of an error is not the route's result.
func Check(ex Exchange, seen *Checked) []Problem {
	route := ex.Pattern
	if route == "" {
		route = ex.Method + " " + ex.Path
	}
	row, ok := Lookup(ex.Pattern)
	if !ok {
		if ex.Pattern == "" { // a fault, or no route: the sandbox's own 404/405 envelope
			if ex.Fault && (len(ex.Response) == 0 || ex.Response[0] != '{') {
				return nil // an injected gateway page is meant to be malformed
			}
			return checkEnvelope(route, ex.Response)
		}
		return []Problem{{Route: route, Side: "answer", What: "route is not in the contract table (internal/cfcontract/table.go)"}}
	}
	if row.Raw && ex.Status == 200 && !strings.HasPrefix(ex.ResponseType, "application/json") {
		return nil
	}
	var env struct {
		Success *bool `json:"success"`
	}
	if err := json.Unmarshal(ex.Response, &env); err != nil || len(ex.Response) == 0 || ex.Response[0] != '{' {
		if ex.Fault { // an injected gateway page is meant to be malformed
			return nil
		}
		return []Problem{{Route: route, Side: "answer", What: fmt.Sprintf("not a JSON envelope (%.60q)", ex.Response)}}
	}
	var out []Problem
	// A request is judged when the sandbox accepted it: a refused one is a test of the
	// refusal, and one the sandbox accepts but the schema does not is a sandbox too lenient.
	accepted := env.Success != nil && *env.Success
	if accepted && row.Request != nil && len(bytes.TrimSpace(ex.Request)) > 0 && strings.HasPrefix(ex.RequestType, "application/json") {
		out = append(out, walk(route, "request", "", row.Request, ex.Request, nil, seen)...)
	}
	if env.Success == nil || !*env.Success || !row.Typed() {
		return append(out, checkEnvelope(route, ex.Response)...)
	}
	if err := json.Unmarshal(ex.Response, reflect.New(row.Answer).Interface()); err != nil {
		out = append(out, Problem{Route: route, Side: "answer", What: "does not decode through " + row.Answer.String() + ": " + err.Error()})
	}
	return append(out, walk(route, "answer", "", row.Answer, ex.Response, row.Departs, seen)...)
}

// checkEnvelope judges what every answer must be: success, errors and messages (each with
// code and message), and result present.
func checkEnvelope(route string, body []byte) []Problem {
	return walk(route, "answer", "", reflect.TypeFor[envelope](), body, nil, nil)
}

// envelope mirrors the envelope every cloudflare-go ...ResponseEnvelope type shares.
type envelope struct {
	Errors   []envelopeItem `json:"errors" api:"required"`
	Messages []envelopeItem `json:"messages" api:"required"`
	Result   any            `json:"result" api:"required,nullable"`
	Success  bool           `json:"success" api:"required"`
}

type envelopeItem struct {
	Code    int64  `json:"code" api:"required"`
	Message string `json:"message" api:"required"`
}

var timeType = reflect.TypeFor[time.Time]()

// walk checks raw against t: its JSON type, and for a struct every required field, at every
// depth. departs are field paths allowed to be missing or null.
func walk(route, side, path string, t reflect.Type, raw json.RawMessage, departs []string, seen *Checked) []Problem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t = fieldValue(t); t == nil {
		return nil
	}
	p := func(format string, args ...any) []Problem {
		return []Problem{{Route: route, Side: side, Field: path, What: fmt.Sprintf(format, args...)}}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil // required-ness is judged by the parent
	}
	got := jsonKind(raw)
	if t == timeType {
		var s string
		if got != "string" || json.Unmarshal(raw, &s) != nil {
			return p("want a string (RFC 3339 time), got %s", got)
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return p("want an RFC 3339 time, got %q", s)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Interface:
		return nil // a union or untyped field: any JSON
	case reflect.String:
		if got != "string" {
			return p("want a string, got %s", got)
		}
	case reflect.Bool:
		if got != "boolean" {
			return p("want a boolean, got %s", got)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if got != "number" {
			return p("want a number, got %s", got)
		}
	case reflect.Slice, reflect.Array:
		if got != "array" {
			return p("want an array, got %s", got)
		}
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items)
		var out []Problem
		for _, it := range items {
			out = append(out, walk(route, side, path+"[]", t.Elem(), it, departs, seen)...)
		}
		return out
	case reflect.Map:
		if got != "object" {
			return p("want an object, got %s", got)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		var out []Problem
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, walk(route, side, join(path, k), t.Elem(), m[k], departs, seen)...)
		}
		return out
	case reflect.Struct:
		if isUnionStruct(t) {
			return nil
		}
		if got != "object" {
			return p("want an object, got %s", got)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		var out []Problem
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			fp := join(path, name)
			v, present := m[name]
			api := strings.Split(f.Tag.Get("api"), ",")
			if slices.Contains(api, "required") {
				if seen != nil {
					if seen.Fields == nil {
						seen.Fields = map[string]bool{}
					}
					seen.Fields[route+" "+side+" "+fp] = true
				}
				null := present && string(bytes.TrimSpace(v)) == "null"
				switch {
				case slices.Contains(departs, fp):
				case !present:
					out = append(out, Problem{Route: route, Side: side, Field: fp, What: "required by " + t.String() + " but missing"})
					continue
				case null && !slices.Contains(api, "nullable"):
					out = append(out, Problem{Route: route, Side: side, Field: fp, What: "required by " + t.String() + " but null"})
					continue
				}
			}
			if present {
				out = append(out, walk(route, side, fp, f.Type, v, departs, seen)...)
			}
		}
		return out
	}
	return nil
}

// fieldValue unwraps cloudflare-go's param.Field[T] (request types) to T; it returns nil for
// apijson metadata (the JSON field of every response struct carries json:"-" anyway).
func fieldValue(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Struct && strings.HasPrefix(t.Name(), "Field[") {
		if v, ok := t.FieldByName("Value"); ok {
			return v.Type
		}
	}
	return t
}

// isUnionStruct: cloudflare-go decodes a oneOf into a struct with an unexported union field;
// its flattened fields are each variant's, not all required at once.
func isUnionStruct(t reflect.Type) bool {
	_, ok := t.FieldByName("union")
	return ok
}

func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// RequiredFields lists the dotted paths of every field t marks required, at every depth (an
// array's items as "[]"): what Check can hold an answer of that type to.
func RequiredFields(t reflect.Type) []string {
	var out []string
	var visit func(path string, t reflect.Type, depth int)
	visit = func(path string, t reflect.Type, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				path += "[]"
			}
			t = t.Elem()
		}
		t = fieldValue(t)
		if t.Kind() != reflect.Struct || t == timeType || isUnionStruct(t) || depth > 8 {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			fp := join(path, name)
			if slices.Contains(strings.Split(f.Tag.Get("api"), ","), "required") {
				out = append(out, fp)
			}
			visit(fp, f.Type, depth+1)
		}
	}
	visit("", t, 0)
	return out
}
