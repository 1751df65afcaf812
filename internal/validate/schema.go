package validate

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
)

// schema is a compiled JSON Schema with its source document, kept for "did you mean" hints.
type schema struct {
	compiled *jsonschema.Schema
	doc      any
	url      string
	// rule is the rule id of this schema's problems; rel its path for hints.
	rule, rel string
}

// schemaCache compiles each schema file once per process: wrangler's is 127 KB and
// compiling it costs far more than validating a config.
var schemaCache = struct {
	sync.Mutex
	m map[string]*schema
}{m: map[string]*schema{}}

func loadSchema(path, rel, rule string) (*schema, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", rel, err)
	}
	key := fmt.Sprintf("%s|%d|%d", abs, st.Size(), st.ModTime().UnixNano())
	schemaCache.Lock()
	defer schemaCache.Unlock()
	if s, ok := schemaCache.m[key]; ok {
		return s, nil
	}
	raw, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", rel, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema %s: not JSON: %w", rel, err)
	}
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	c := jsonschema.NewCompiler()
	if err := c.AddResource(u, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", rel, err)
	}
	compiled, err := c.Compile(u)
	if err != nil {
		return nil, fmt.Errorf("schema %s does not compile: %w", rel, err)
	}
	s := &schema{compiled: compiled, doc: doc, url: u, rule: rule, rel: rel}
	schemaCache.m[key] = s
	return s, nil
}

var printer = message.NewPrinter(language.English)

// check validates doc and turns every failure into a Problem placed in doc's original text.
func (s *schema) check(doc *jsonc.Document) []Problem {
	err := s.compiled.Validate(doc.Value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Path: doc.Rel, Line: 1, Col: 1, Rule: s.rule, Message: err.Error()}}
	}
	var out []Problem
	s.collect(doc, ve, &out)
	slices.SortFunc(out, compareProblems)
	return slices.CompactFunc(out, func(a, b Problem) bool { return a == b })
}

// collect walks the error tree down to the leaves. For anyOf/oneOf it follows the branch
// that got furthest into the value (the usual "best match"), because listing every branch's
// complaint about a route or a var says nothing useful.
func (s *schema) collect(doc *jsonc.Document, e *jsonschema.ValidationError, out *[]Problem) {
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		if best := deepest(e.Causes); best != nil && depth(best) > len(e.InstanceLocation) {
			s.collect(doc, best, out)
			return
		}
		*out = append(*out, s.problems(doc, e)...)
		return
	}
	if len(e.Causes) == 0 {
		*out = append(*out, s.problems(doc, e)...)
		return
	}
	for _, c := range e.Causes {
		s.collect(doc, c, out)
	}
}

func deepest(cs []*jsonschema.ValidationError) *jsonschema.ValidationError {
	var best *jsonschema.ValidationError
	for _, c := range cs {
		if best == nil || depth(c) > depth(best) {
			best = c
		}
	}
	return best
}

func depth(e *jsonschema.ValidationError) int {
	d := len(e.InstanceLocation)
	for _, c := range e.Causes {
		d = max(d, depth(c))
	}
	return d
}

func (s *schema) problems(doc *jsonc.Document, e *jsonschema.ValidationError) []Problem {
	ptr := jsonc.Pointer(e.InstanceLocation...)
	where := "at top level"
	if ptr != "" {
		where = "at " + dotted(e.InstanceLocation)
	}
	p := Problem{Path: doc.Rel, Rule: s.rule}
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		// One problem per unknown field, each at its own key.
		var out []Problem
		for _, prop := range k.Properties {
			q := p
			q.Line, q.Col = doc.KeyPosition(ptr + "/" + jsonc.EscapeToken(prop))
			q.Message = fmt.Sprintf("unknown field %q %s", prop, where)
			q.Hint = "remove it or fix the spelling"
			if near := s.nearest(e.SchemaURL, prop); near != "" {
				q.Hint = fmt.Sprintf("did you mean %q?", near)
			}
			out = append(out, q)
		}
		return out
	case *kind.Required:
		p.Line, p.Col = doc.KeyPosition(ptr)
		p.Message = fmt.Sprintf("missing required field(s) %s %s", quoteAll(k.Missing), where)
		p.Hint = "add it; " + s.rel + " describes each field"
	case *kind.AnyOf, *kind.OneOf:
		p.Line, p.Col = doc.Position(ptr)
		p.Message = fmt.Sprintf("value %s matches none of the allowed forms", where)
	default:
		p.Line, p.Col = doc.Position(ptr)
		p.Message = fmt.Sprintf("%s: %s", where, e.ErrorKind.LocalizedString(printer))
	}
	return []Problem{p}
}

// nearest suggests the allowed property closest to prop, read from the schema object that
// rejected it (schemaURL ends in "#/json/pointer/additionalProperties").
func (s *schema) nearest(schemaURL, prop string) string {
	_, frag, _ := strings.Cut(schemaURL, "#")
	frag = strings.TrimSuffix(frag, "/additionalProperties")
	node := s.doc
	for tok := range strings.SplitSeq(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			return ""
		}
		node = m[jsonc.UnescapeToken(tok)]
	}
	m, _ := node.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	best, bestD := "", 3 // suggest only close typos
	for _, n := range names {
		if d := editDistance(strings.ToLower(prop), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func dotted(tokens []string) string {
	var b strings.Builder
	for i, t := range tokens {
		if isIndex(t) {
			b.WriteString("[" + t + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
