package history

import (
	"context"
	"path/filepath"
	"strings"
)

// Committed compares the records in dir with the last commit of the git checkout at root and
// names every committed record that was since edited or deleted. It closes the hole the hash
// chain leaves: the newest record of a tenant/env has no successor committing to its hash, but
// once committed, git does. Outside a git checkout, or for a dir outside root, it finds nothing.
func Committed(ctx context.Context, root, dir string) []Problem {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	out, err := git(ctx, root, "diff", "--no-renames", "--name-status", "HEAD", "--", filepath.ToSlash(rel))
	if err != nil {
		return nil
	}
	var problems []Problem
	for _, line := range strings.Split(out, "\n") {
		status, path, ok := strings.Cut(line, "\t")
		name := filepath.Base(path)
		if !ok || filepath.Ext(name) != ".json" {
			continue
		}
		switch status {
		case "M":
			problems = append(problems, Problem{name, "edited since the last commit (git diff HEAD shows it)"})
		case "D":
			problems = append(problems, Problem{name, "deleted since the last commit (restore it with git checkout HEAD -- " + path + ")"})
		}
	}
	return problems
}
