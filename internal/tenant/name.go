package tenant

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// ErrInvalidName is returned (wrapped) for a tenant name that could escape tenants/ or is not
// a usable Worker name part.
var ErrInvalidName = errors.New("invalid tenant name")

// ErrUnknown is returned (wrapped) for a well-formed name with no folder under tenants/.
var ErrUnknown = errors.New("unknown tenant")

// maxNameLen keeps <tenant>-api-staging and <worker>.<subdomain> within DNS label limits.
const maxNameLen = 50

// ValidName reports why name cannot be a tenant name, or nil. It looks at the string only and
// never touches the file system, so callers can refuse "../etc" before opening anything.
// A name is lower-case letters, digits and inner dashes; "all" is reserved for "every tenant".
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty; give a folder name under tenants/", ErrInvalidName)
	case name == "all":
		return fmt.Errorf("%w: %q is reserved for every tenant", ErrInvalidName, name)
	case strings.ContainsAny(name, `/\`) || strings.Contains(name, ".."):
		return fmt.Errorf("%w: %q must not contain a path (/, \\ or ..); give a folder name under tenants/", ErrInvalidName, name)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidName, name, maxNameLen)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(name)-1
		if !ok {
			return fmt.Errorf("%w: %q: only lower-case letters, digits and inner dashes are allowed (character %d is %q)", ErrInvalidName, name, i+1, r)
		}
	}
	return nil
}

// Name is a tenant name that passed ValidName: a request carries one after its name was
// checked once, where it came in (the magefile, the fleet's selection), so that what runs
// the request does not check it again. Whether the tenant's folder exists is Load's to find.
type Name string

// ParseName is ValidName for a name that comes in from outside (a command line, a file).
func ParseName(s string) (Name, error) {
	if err := ValidName(s); err != nil {
		return "", err
	}
	return Name(s), nil
}

// ErrSymlink is returned (wrapped) for tenants/ or a tenant folder that is a symbolic link.
var ErrSymlink = errors.New("symbolic link refused")

// symlinkError says why a link in place of a tenant folder (or of tenants/ itself) is refused.
func symlinkError(rel, path string) error {
	target, _ := os.Readlink(path)
	return fmt.Errorf("%w: %s is a symbolic link (to %s); tenant configuration must be real files of this checkout, "+
		"where review and history see them, not whatever the link points at: replace the link with the folder", ErrSymlink, rel, target)
}

// Scan lists the folders under tenants/, sorted: the ones with valid names and the rest.
// Hidden entries (".git-keep", ".DS_Store") and plain files are ignored. A symbolic link in
// place of a tenant folder is never followed: it is listed with the invalid ones (FolderProblem
// says why). A tenants/ that is itself a link is an error, for the same reason.
func Scan(ws workspace.Workspace) (valid, invalid []string, err error) {
	if fi, err := os.Lstat(ws.TenantsDir()); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, nil, symlinkError("tenants/", ws.TenantsDir())
	}
	entries, err := os.ReadDir(ws.TenantsDir())
	if err != nil {
		return nil, nil, fmt.Errorf("list tenants in %s: %w", ws.TenantsDir(), err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			invalid = append(invalid, e.Name())
			continue
		}
		if !e.IsDir() {
			continue
		}
		if ValidName(e.Name()) == nil {
			valid = append(valid, e.Name())
		} else {
			invalid = append(invalid, e.Name())
		}
	}
	slices.Sort(valid)
	slices.Sort(invalid)
	return valid, invalid, nil
}

// List returns the names of all tenants, sorted. Folders with invalid names are left out
// (mage validate all reports them).
func List(ws workspace.Workspace) ([]string, error) {
	valid, _, err := Scan(ws)
	return valid, err
}

// Check validates name and makes sure the tenant exists. The error for an unknown tenant lists
// the valid names.
func Check(ws workspace.Workspace, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	names, err := List(ws)
	if err != nil {
		return err
	}
	if !slices.Contains(names, name) {
		if err := FolderProblem(ws, name); errors.Is(err, ErrSymlink) {
			return err
		}
		return unknownError(name, names)
	}
	return nil
}

// FolderProblem says why the entry name under tenants/ is not a tenant folder (a symbolic
// link, an invalid name), or nil.
func FolderProblem(ws workspace.Workspace, name string) error {
	p := filepath.Join(ws.TenantsDir(), name)
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return symlinkError("tenants/"+name, p)
	}
	return ValidName(name)
}

func unknownError(name string, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("%w %q: tenants/ has no tenants yet", ErrUnknown, name)
	}
	return fmt.Errorf("%w %q; valid tenants: %s", ErrUnknown, name, strings.Join(names, ", "))
}

// All is the target that means every tenant.
const All = "all"

// Select turns a command's target, one tenant name or All, into the names to work on. A
// single name is checked (well formed, and its folder exists) before any tenant file is read;
// All is every tenant under tenants/, and an error when there is none. It is the one place
// that decides what "all or one tenant" means.
func Select(ws workspace.Workspace, target string) ([]string, error) {
	if target != All {
		if err := Check(ws, target); err != nil {
			return nil, fmt.Errorf("%w (or use %q)", err, All)
		}
		return []string{target}, nil
	}
	names, err := List(ws)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no tenants under %s; add tenants/<name>/tenant.config.json and wrangler.jsonc", ws.TenantsDir())
	}
	return names, nil
}
