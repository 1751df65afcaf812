package jsonc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// MaxFileSize caps every file Read takes. Real configs are a few KB; the cap keeps a stray
// bundle or log pasted into a config folder from being parsed.
const MaxFileSize = 1 << 20

// maxDepth bounds nesting before the recursive parsers see the bytes: a config needs about 6.
const maxDepth = 64

// Rule ids of file-level problems. They are part of mage validate's output and stable.
const (
	RuleFileMissing  = "file-missing"
	RuleFileRead     = "file-unreadable"
	RuleFileTooLarge = "file-too-large"
	RuleFileEmpty    = "file-empty"
	RuleFileBinary   = "file-binary"
	RuleSyntax       = "syntax-error"
	RuleNotJSON      = "json-not-strict"
	RuleTooDeep      = "nesting-too-deep"
	RuleType         = "type-mismatch"
)

// FileError is a problem that stops a file from being used at all. Path is relative to the
// workspace root; Line and Col are 1-based (byte columns) and 0 when there is no position.
type FileError struct {
	Path      string
	Line, Col int
	Rule      string
	Message   string
	Hint      string
	Err       error
}

func (e *FileError) Error() string {
	pos := e.Path
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", pos, e.Line, e.Col)
	}
	s := fmt.Sprintf("%s: %s: %s", pos, e.Rule, e.Message)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// Document is one parsed JSON or JSONC file. Raw is what is on disk; Std is the same text as
// standard JSON with comments and trailing commas blanked out, so byte offsets in Std and Raw
// are equal and every position maps back to the file the user edits.
type Document struct {
	// Path is the absolute file path; Rel the slash-separated path relative to the workspace
	// root, used in every message.
	Path, Rel string
	Raw, Std  []byte
	// Value is the decoded content (objects are map[string]any, numbers json.Number), the form
	// JSON Schema validators take.
	Value any
	tree  hujson.Value
}

// Read reads and parses one file. comments allows comments and trailing commas (JSONC). The
// file must be a regular file (not a symlink) of at most MaxFileSize bytes.
func Read(path, rel string, comments bool) (*Document, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &FileError{Path: rel, Rule: RuleFileMissing, Message: "file does not exist", Err: err}
	case err != nil:
		return nil, &FileError{Path: rel, Rule: RuleFileRead, Message: err.Error(), Err: err}
	case !st.Mode().IsRegular():
		what := "a special file"
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			what = "a symbolic link"
		case st.IsDir():
			what = "a folder"
		}
		return nil, &FileError{Path: rel, Rule: RuleFileRead, Message: "is " + what + ", not a regular file", Hint: "put the file itself here: links could point outside the repository"}
	case st.Size() > MaxFileSize:
		return nil, tooLarge(rel, st.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: rel, Rule: RuleFileRead, Message: err.Error(), Err: err}
	}
	defer f.Close()
	// Read one byte past the cap in case the file grew after the Lstat.
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &FileError{Path: rel, Rule: RuleFileRead, Message: err.Error(), Err: err}
	}
	if len(raw) > MaxFileSize {
		return nil, tooLarge(rel, int64(len(raw)))
	}
	doc, err := Parse(rel, raw, comments)
	if doc != nil {
		doc.Path = path
	}
	return doc, err
}

func tooLarge(rel string, n int64) error {
	return &FileError{Path: rel, Rule: RuleFileTooLarge, Message: fmt.Sprintf("%d bytes, more than the %d-byte cap", n, MaxFileSize)}
}

// Parse parses raw as JSON (or JSONC when comments is true). It never panics; every
// refusal is a *FileError with a position where there is one.
func Parse(rel string, raw []byte, comments bool) (*Document, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &FileError{Path: rel, Line: 1, Col: 1, Rule: RuleFileEmpty, Message: "file is empty"}
	}
	if off := binaryOffset(raw); off >= 0 {
		line, col := lineCol(raw, off)
		return nil, &FileError{Path: rel, Line: line, Col: col, Rule: RuleFileBinary, Message: "file is not UTF-8 text (NUL byte or invalid UTF-8)", Hint: "save the file as UTF-8 text"}
	}
	if off := depthOffset(raw, maxDepth); off >= 0 {
		line, col := lineCol(raw, off)
		return nil, &FileError{Path: rel, Line: line, Col: col, Rule: RuleTooDeep, Message: fmt.Sprintf("nested more than %d levels", maxDepth)}
	}
	tree, err := hujson.Parse(raw)
	if err != nil {
		line, col := hujsonPos(err)
		return nil, &FileError{Path: rel, Line: line, Col: col, Rule: RuleSyntax, Message: strings.TrimPrefix(stripPos(err.Error()), "hujson: "), Err: err}
	}
	if !comments && !tree.IsStandard() {
		off := firstNonStandard(&tree)
		line, col := lineCol(raw, off)
		return nil, &FileError{Path: rel, Line: line, Col: col, Rule: RuleNotJSON, Message: "comments and trailing commas are not allowed in a .json file"}
	}
	// Standardize rewrites its argument in place: work on a copy so Raw stays what the user wrote.
	std, err := hujson.Standardize(bytes.Clone(raw))
	if err != nil {
		return nil, &FileError{Path: rel, Rule: RuleSyntax, Message: err.Error(), Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(std))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		off := 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		line, col := lineCol(raw, off)
		return nil, &FileError{Path: rel, Line: line, Col: col, Rule: RuleSyntax, Message: err.Error(), Err: err}
	}
	return &Document{Rel: rel, Raw: raw, Std: std, Value: v, tree: tree}, nil
}

// Position returns the 1-based line and byte column in Raw where the value at the JSON
// pointer ptr starts. A pointer to something absent falls back to its nearest present
// ancestor, so a "missing key" problem points at the object that should hold it.
func (d *Document) Position(ptr string) (line, col int) {
	v := d.find(ptr)
	return lineCol(d.Raw, v.StartOffset)
}

// KeyPosition is like Position but, when ptr names an object member, points at the member's
// name: that is where an editor should put the cursor for "unknown field" or "wrong value".
func (d *Document) KeyPosition(ptr string) (line, col int) {
	if ptr == "" {
		return d.Position(ptr)
	}
	parent, key := SplitPointer(ptr)
	if pv := d.tree.Find(parent); pv != nil {
		if obj, ok := pv.Value.(*hujson.Object); ok {
			for i := range obj.Members {
				if name, ok := obj.Members[i].Name.Value.(hujson.Literal); ok && name.String() == key {
					return lineCol(d.Raw, obj.Members[i].Name.StartOffset)
				}
			}
		}
	}
	return d.Position(ptr)
}

// Has reports whether the value at ptr exists.
func (d *Document) Has(ptr string) bool { return d.tree.Find(ptr) != nil }

// DuplicateKeys lists the pointers of object members that repeat an earlier name in the same
// object. JSON decoders keep the last one silently, editors and wrangler may not agree.
func (d *Document) DuplicateKeys() []string {
	var dups []string
	var walk func(v *hujson.Value, ptr string)
	walk = func(v *hujson.Value, ptr string) {
		switch t := v.Value.(type) {
		case *hujson.Object:
			seen := map[string]bool{}
			for i := range t.Members {
				name := t.Members[i].Name.Value.(hujson.Literal).String()
				if seen[name] {
					dups = append(dups, ptr+"/"+EscapeToken(name)+"#"+strconv.Itoa(i))
				}
				seen[name] = true
				walk(&t.Members[i].Value, ptr+"/"+EscapeToken(name))
			}
		case *hujson.Array:
			for i := range t.Elements {
				walk(&t.Elements[i], ptr+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(&d.tree, "")
	return dups
}

// MemberPosition is the position of the name of the i-th member of the object at ptr.
func (d *Document) MemberPosition(ptr string, i int) (line, col int) {
	if pv := d.tree.Find(ptr); pv != nil {
		if obj, ok := pv.Value.(*hujson.Object); ok && i >= 0 && i < len(obj.Members) {
			return lineCol(d.Raw, obj.Members[i].Name.StartOffset)
		}
	}
	return d.Position(ptr)
}

func (d *Document) find(ptr string) *hujson.Value {
	for {
		if v := d.tree.Find(ptr); v != nil {
			return v
		}
		if ptr == "" {
			return &d.tree
		}
		ptr, _ = SplitPointer(ptr)
	}
}

// SplitPointer splits a JSON pointer into its parent and its last (unescaped) token.
func SplitPointer(ptr string) (parent, token string) {
	i := strings.LastIndexByte(ptr, '/')
	if i < 0 {
		return "", ptr
	}
	return ptr[:i], UnescapeToken(ptr[i+1:])
}

// EscapeToken escapes one JSON pointer token (RFC 6901).
func EscapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// UnescapeToken reverses EscapeToken.
func UnescapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// Pointer builds a JSON pointer from raw tokens.
func Pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(EscapeToken(t))
	}
	return b.String()
}

// lineCol turns a byte offset into a 1-based line and byte column, the convention of Go
// tools and of hujson's own errors.
// OffsetPosition is the 1-based line and byte column of byte offset off in Raw (Std has the
// same offsets), for errors that come with an offset rather than a pointer.
func (d *Document) OffsetPosition(off int) (line, col int) { return lineCol(d.Raw, off) }

func lineCol(b []byte, off int) (line, col int) {
	off = max(0, min(off, len(b)))
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	col = 1 + off - (bytes.LastIndexByte(b[:off], '\n') + 1)
	return line, col
}

func binaryOffset(b []byte) int {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return i
	}
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// depthOffset returns the offset of the first bracket nested deeper than limit, skipping
// strings and comments, or -1.
func depthOffset(b []byte, limit int) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := bytes.Index(b[i+2:], []byte("*/"))
			if end < 0 {
				return -1 // the parser reports the unterminated comment
			}
			i += end + 3
		case c == '{' || c == '[':
			depth++
			if depth > limit {
				return i
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return -1
}

// hujsonPos reads the "line N, column M" hujson puts in its parse errors.
func hujsonPos(err error) (line, col int) {
	if _, e := fmt.Sscanf(err.Error(), "hujson: line %d, column %d:", &line, &col); e != nil {
		return 1, 1
	}
	return line, col
}

func stripPos(s string) string {
	if _, rest, ok := strings.Cut(s, ": "); ok && strings.HasPrefix(s, "hujson: line ") {
		if _, rest2, ok := strings.Cut(rest, ": "); ok {
			return rest2
		}
	}
	return s
}

// firstNonStandard finds the offset of the first comment or trailing comma.
func firstNonStandard(v *hujson.Value) int {
	best := -1
	note := func(off int) {
		if best < 0 || off < best {
			best = off
		}
	}
	var walk func(v *hujson.Value)
	walk = func(v *hujson.Value) {
		if !v.BeforeExtra.IsStandard() {
			note(v.StartOffset - len(v.BeforeExtra) + extraCommentOffset(v.BeforeExtra))
		}
		switch t := v.Value.(type) {
		case *hujson.Object:
			for i := range t.Members {
				walk(&t.Members[i].Name)
				walk(&t.Members[i].Value)
			}
			if n := len(t.Members); n > 0 && t.Members[n-1].Value.AfterExtra != nil {
				last := &t.Members[n-1].Value
				note(last.EndOffset + len(last.AfterExtra))
			}
			if !t.AfterExtra.IsStandard() {
				note(v.EndOffset - 1 - len(t.AfterExtra) + extraCommentOffset(t.AfterExtra))
			}
		case *hujson.Array:
			for i := range t.Elements {
				walk(&t.Elements[i])
			}
			if n := len(t.Elements); n > 0 && t.Elements[n-1].AfterExtra != nil {
				last := &t.Elements[n-1]
				note(last.EndOffset + len(last.AfterExtra))
			}
			if !t.AfterExtra.IsStandard() {
				note(v.EndOffset - 1 - len(t.AfterExtra) + extraCommentOffset(t.AfterExtra))
			}
		}
		if !v.AfterExtra.IsStandard() {
			note(v.EndOffset + extraCommentOffset(v.AfterExtra))
		}
	}
	walk(v)
	return max(best, 0)
}

func extraCommentOffset(e hujson.Extra) int {
	if i := bytes.Index(e, []byte("/")); i >= 0 {
		return i
	}
	return 0
}
