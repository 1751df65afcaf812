package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Options tune Write. The zero value writes a 0600 file without syncing.
type Options struct {
	// Perm is the file's mode; 0 keeps the temporary file's 0600.
	Perm fs.FileMode
	// Sync flushes the file, then its folder, to disk: for a file that must survive a power
	// cut (a deployment record), not only a crash of this process.
	Sync bool
}

// Write replaces path with data. The folder must exist. The temporary file is a dot file
// ending in .tmp, so folder readers that take *.json never pick it up.
func Write(path string, data []byte, o Options) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // nothing left to remove once renamed
	_, werr := tmp.Write(data)
	var serr error
	if o.Sync {
		serr = tmp.Sync()
	}
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return err
	}
	if o.Perm != 0 {
		if err := os.Chmod(tmp.Name(), o.Perm); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if o.Sync {
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync() // best effort: not every filesystem syncs a folder
			d.Close()
		}
	}
	return nil
}
