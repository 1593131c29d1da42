// Runs after `tsc` (npm run build): joins the compiled worker into one file.
//
// Why: a worker is a fresh Node process per client, and each CommonJS file it requires
// costs that process something (resolving and reading it, a module object, compiling a
// wrapper): measured here, the 19 files of a worker left about 0.6 MiB more anonymous
// memory and 5-10 ms more start-up CPU than the same code as one file. The bundle keeps
// the laziness of the sources: a module runs when it is first required (esbuild wraps
// each one), so a worker still says `ready` before it loads what serving takes, and a
// worker without a command never loads the command's parts.
//
// Not minified: a worker's stack traces keep names and readable lines. Node built-ins
// stay outside; no package goes in (the worker-imports test reads the metafile).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const WORKER_BUNDLE = 'dist/workers/push-worker.bundle.js';
const METAFILE = 'dist/workers/push-worker.bundle.meta.json';

function bundleWorker() {
  // Required here, not at the top: build-if-needed reads WORKER_BUNDLE without esbuild.
  const esbuild = require('esbuild');
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ['dist/workers/push-worker.js'],
    outfile: WORKER_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  fs.writeFileSync(path.join(root, METAFILE), JSON.stringify(result.metafile, null, 1));
}

if (require.main === module) bundleWorker();

module.exports = { bundleWorker, WORKER_BUNDLE };
