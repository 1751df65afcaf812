package menu

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
)

// Flag is one optional flag of a target, as `mage -h <target>` lists it.
type Flag struct {
	Name string // as declared: dryRun
	Type string // bool, int, string
	Doc  string // the parameter's comment
}

var (
	// A table row of README's menu: its first cell holds the commands, each in backticks.
	cellCode = regexp.MustCompile("`([^`]+)`")
	docFlag  = regexp.MustCompile(`-([A-Za-z][A-Za-z0-9]*)=`)
	helpFlag = regexp.MustCompile(`^\s*-([A-Za-z][A-Za-z0-9]*)=<([a-zA-Z.0-9]+)>\s*(.*)$`)
)

// Documented returns, per target named in the "## The menu" table of readme, the flags the
// table shows for it. A cell such as "`sandbox:start` / `:stop`" names sandbox:stop too.
func Documented(readme string) (map[string][]string, error) {
	_, rest, ok := strings.Cut(readme, "\n## The menu\n")
	if !ok {
		return nil, fmt.Errorf("README: no \"## The menu\" section")
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(rest))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.SplitN(strings.ReplaceAll(line, `\|`, "¦"), "|", 3)[1]
		ns := ""
		for _, m := range cellCode.FindAllStringSubmatch(cell, -1) {
			code := strings.ReplaceAll(m[1], "¦", "|")
			name, _, _ := strings.Cut(code, " ")
			if strings.HasPrefix(name, ":") {
				name = ns + name
			}
			if i := strings.Index(name, ":"); i > 0 {
				ns = name[:i]
			}
			if name == "go" || strings.HasPrefix(name, "-") {
				continue // `go tool mage -l`
			}
			flags := out[name]
			for _, f := range docFlag.FindAllStringSubmatch(code, -1) {
				flags = append(flags, f[1])
			}
			out[name] = flags
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("README: the menu table names no target")
	}
	return out, nil
}

// Help returns the flags listed in the output of `mage -h <target>`.
func Help(out string) []Flag {
	var flags []Flag
	_, rest, ok := strings.Cut(out, "\nFlags:\n")
	if !ok {
		return nil
	}
	for _, line := range strings.Split(rest, "\n") {
		if m := helpFlag.FindStringSubmatch(line); m != nil {
			flags = append(flags, Flag{Name: m[1], Type: m[2], Doc: strings.TrimSpace(m[3])})
		}
	}
	return flags
}
