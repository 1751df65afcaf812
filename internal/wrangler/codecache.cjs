'use strict';
// Preloaded (node -r) into every wrangler run by the deploy tool. wrangler's CLI is one 12 MB
// file that node compiles from scratch on every start, a fifth of a deploy's CPU. This hands V8
// the code it compiled on an earlier run (its code cache) so that it can skip the work, and
// changes nothing else: the file is still run as node's CommonJS loader would run it.
//
// Only the file named by DEPLOY_CODE_CACHE_FILE is affected. The cache is keyed by node's
// version and the file's path and content, is written once (atomically, after the run, so
// that it holds the functions the run needed), and V8 itself rejects data that does not fit,
// in which case the file compiles as usual and a new cache is written.
const Module = require('module');
const vm = require('vm');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const dir = process.env.DEPLOY_CODE_CACHE_DIR;
// node names a module by its real path; node_modules may be a link (a test's or a CI job's
// copy of the checkout links the original's).
let target = process.env.DEPLOY_CODE_CACHE_FILE;
try {
  target = target && fs.realpathSync(target);
} catch {
  target = undefined;
}

if (dir && target) {
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    if (filename !== target) {
      return compile.call(this, content, filename);
    }
    const key = crypto.createHash('sha256')
      .update([process.version, process.arch, filename, content].join('\0'))
      .digest('hex');
    const file = path.join(dir, key.slice(0, 32) + '.v8cache');
    let cachedData;
    try {
      cachedData = fs.readFileSync(file);
    } catch {
      // No cache yet: compile, and write one at exit.
    }
    const script = new vm.Script(Module.wrap(content), {
      filename,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected) {
      process.once('exit', () => {
        try {
          fs.mkdirSync(dir, { recursive: true });
          const tmp = `${file}.${process.pid}.tmp`;
          fs.writeFileSync(tmp, script.createCachedData());
          fs.renameSync(tmp, file);
        } catch {
          // A cache that cannot be written costs the next run a compile, nothing more.
        }
      });
    }
    const mod = this;
    const req = (id) => mod.require(id);
    req.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    req.main = process.mainModule;
    req.cache = Module._cache;
    req.extensions = Module._extensions;
    const fn = script.runInThisContext({ displayErrors: true });
    return fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  };
}
