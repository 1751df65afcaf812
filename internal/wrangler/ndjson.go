package wrangler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Entry is one line of wrangler's ND-JSON output file (WRANGLER_OUTPUT_FILE_PATH).
type Entry struct {
	Type string
	Raw  json.RawMessage
}

// Entries is the parsed output file of one run, in the order wrangler wrote it.
type Entries []Entry

// parseEntries reads ND-JSON. A line that is not a JSON object is an error naming its number:
// the file is ours alone (fresh per run), so garbage means something is badly wrong.
func parseEntries(data []byte) (Entries, error) {
	var out Entries
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return nil, fmt.Errorf("wrangler output file line %d: %w", n, err)
		}
		out = append(out, Entry{Type: head.Type, Raw: append(json.RawMessage(nil), line...)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("wrangler output file: %w", err)
	}
	return out, nil
}

// last decodes the last entry of type t into v and reports whether there was one.
func (es Entries) last(t string, v any) (bool, error) {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Type != t {
			continue
		}
		if err := json.Unmarshal(es[i].Raw, v); err != nil {
			return true, fmt.Errorf("wrangler output entry %q: %w", t, err)
		}
		return true, nil
	}
	return false, nil
}

// sessionEntry is written first by every command.
type sessionEntry struct {
	WranglerVersion string   `json:"wrangler_version"`
	Args            []string `json:"command_line_args"`
	LogFilePath     string   `json:"log_file_path"`
}

// deployEntry is written by `deploy`, also with --dry-run (then version_id and worker_tag are
// null and targets is absent).
type deployEntry struct {
	WorkerName     string   `json:"worker_name"`
	WorkerTag      *string  `json:"worker_tag"`
	VersionID      *string  `json:"version_id"`
	Targets        []string `json:"targets"`
	Environment    string   `json:"wrangler_environment"`
	NameOverridden bool     `json:"worker_name_overridden"`
}

// versionUploadEntry is written by `versions upload`.
type versionUploadEntry struct {
	WorkerName      string  `json:"worker_name"`
	WorkerTag       *string `json:"worker_tag"`
	VersionID       string  `json:"version_id"`
	PreviewURL      string  `json:"preview_url"`
	PreviewAliasURL string  `json:"preview_alias_url"`
	Environment     string  `json:"wrangler_environment"`
}

// versionDeployEntry is written by `versions deploy`. Its version_traffic is always {} in
// 4.63.0 (a Map serialised as JSON), so it is not read.
type versionDeployEntry struct {
	WorkerName   string  `json:"worker_name"`
	WorkerTag    *string `json:"worker_tag"`
	DeploymentID string  `json:"deployment_id"`
}

// failedEntry is written when a command fails. code is errors[0].code of an API error (a
// number), a Node error code (a string such as "ERR_TTY_INIT_FAILED"), or absent.
type failedEntry struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
}

// codeString renders the code of a command-failed entry, number or string, as text.
func (f failedEntry) codeString() string {
	if len(f.Code) == 0 || string(f.Code) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(f.Code, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(f.Code, &n) == nil {
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return n.String()
	}
	return string(f.Code)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
