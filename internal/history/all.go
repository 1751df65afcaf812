package history

import (
	"path/filepath"
	"strings"
)

// All returns every record in the store, of every tenant/env, oldest first within each
// tenant/env (tenant/envs in name order). Files that are not named like records are
// ignored; a record file that does not parse is an error naming it, as in List.
func (s *Store) All() ([]Entry, error) {
	names, err := s.names(func(n string) bool { return recordName.MatchString(n) })
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		e, err := read(filepath.Join(s.Dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Split returns the tenant and env a record file name is for, and false when name is not a
// record name.
func Split(name string) (tenant, env string, ok bool) {
	m := recordName.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], strings.HasSuffix(name, ".json")
}
