package wrangler

import (
	"bytes"
	_ "embed"
	"os"
	"path/filepath"
)

// codeCacheJS is the preload that gives V8 its code cache for wrangler's cli.js.
//
//go:embed codecache.cjs
var codeCacheJS []byte

// codeCacheArgs are the node flags that preload codecache.cjs, and the environment that
// points it at the cache, for a run of r.CLI; none when r has no CodeCache folder or the
// preload cannot be put there (a run then compiles wrangler as it always did).
func (r Runner) codeCacheArgs() (flags, env []string) {
	if r.CodeCache == "" || r.CLI == "" {
		return nil, nil
	}
	preload := filepath.Join(r.CodeCache, "preload.cjs")
	if have, err := os.ReadFile(preload); err != nil || !bytes.Equal(have, codeCacheJS) {
		if err := os.MkdirAll(r.CodeCache, 0o755); err != nil {
			r.log().Debug("no code cache for wrangler", "err", err)
			return nil, nil
		}
		tmp, err := os.CreateTemp(r.CodeCache, "preload-*.tmp")
		if err != nil {
			r.log().Debug("no code cache for wrangler", "err", err)
			return nil, nil
		}
		_, werr := tmp.Write(codeCacheJS)
		cerr := tmp.Close()
		if werr != nil || cerr != nil || os.Rename(tmp.Name(), preload) != nil {
			_ = os.Remove(tmp.Name())
			return nil, nil
		}
	}
	return []string{"--require", preload}, []string{"DEPLOY_CODE_CACHE_DIR=" + r.CodeCache, "DEPLOY_CODE_CACHE_FILE=" + r.CLI}
}
