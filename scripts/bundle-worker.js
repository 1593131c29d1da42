// Runs in `npm run build`: bundles the worker from its TypeScript sources.
//
// Why one bundle: a worker is a fresh Node process per client, and each CommonJS file
// it requires costs that process something (resolving and reading it, a module object,
// compiling a wrapper): measured here, the 19 files of a worker left about 0.6 MiB more
// anonymous memory and 5-10 ms more start-up CPU than the same code as one file. The
// bundle keeps the laziness of the sources: a module runs when it is first required
// (esbuild wraps each one), so a worker still says `ready` before it loads what serving
// takes.
//
// Why more than one file: V8 scans every function of a file it compiles, even one that
// never runs, and a worker runs once. Counted with callgrind (docs/performance.md, round
// six), parsing the worker's own code was the largest part of its cost over the floor's
// worker. What a WebSocket client's worker never runs (the event-stream endpoint, the
// --exec/--dir command's parts) is therefore in files of its own beside the bundle,
// required when the hand-off first needs it. A module both sides use is in both files:
// only pure ones are (constants, close codes, frame splitting), which the worker-imports
// test holds to.
//
// HAZARD: a lazy part is read from disk when first required, so it must be needed
// before a deploy can have replaced it. The link to a new master (master-link.ts) is
// needed only after one: at a hot upgrade the new build is already on disk, and an old
// worker that read its link from there would speak the new build's control protocol
// with its old code (upgrade-old-worker.test.ts caught exactly that). It stays in the
// bundle. A spare forked before `npm run build` rewrote dist/ and handed a client after
// it would read a newer part; a hot upgrade ends every spare, and a master left running
// over a rebuilt dist/ forks workers of the new build anyway.
//
// From the sources, not from tsc's output: esbuild's own ES-module bundling leaves less
// code to scan than CommonJS rewritten by tsc (no `exports.x =`, no `(0, m.f)()` calls).
//
// Not minified: a worker's stack traces keep names and readable lines (and minifying
// saved nothing measurable: the cost is per token and function, not per byte). Node
// built-ins stay outside; no package goes in (the worker-imports test reads the metafile).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const WORKER_BUNDLE = 'dist/workers/push-worker.bundle.js';
const METAFILE = 'dist/workers/push-worker.bundle.meta.json';

/** The parts loaded lazily, each its own file: the specifier the sources require → file. */
const LAZY_PARTS = {
  './sse-endpoint': 'push-worker.sse.js',
  './command-source': 'push-worker.command-source.js',
  './command-environment': 'push-worker.command-environment.js',
};

/** Keeps a lazy part out of the file that requires it: it stays a require() of its file. */
const lazyPartsApart = {
  name: 'lazy-parts-apart',
  setup(build) {
    // Any sibling module; undefined (bundled as usual) for all but the lazy parts.
    build.onResolve({ filter: /^\.\/[\w-]+$/ }, (args) =>
      args.path in LAZY_PARTS ? { path: `./${LAZY_PARTS[args.path]}`, external: true } : undefined,
    );
  },
};

/** Builds the bundle and its lazy parts (async: esbuild runs plugins only so). */
async function bundleWorker() {
  // Required here, not at the top: build-if-needed reads WORKER_BUNDLE without esbuild.
  const esbuild = require('esbuild');
  const entries = [
    ['workers/push-worker.ts', WORKER_BUNDLE],
    ...Object.entries(LAZY_PARTS).map(([specifier, file]) => [
      `workers/${specifier.slice(2)}.ts`,
      `dist/workers/${file}`,
    ]),
  ];
  const outputs = {};
  for (const [entry, outfile] of entries) {
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      tsconfig: 'tsconfig.build.json',
      legalComments: 'none',
      metafile: true,
      logLevel: 'warning',
      plugins: [lazyPartsApart],
    });
    Object.assign(outputs, result.metafile.outputs);
  }
  fs.writeFileSync(path.join(root, METAFILE), JSON.stringify({ outputs }, null, 1));
}

if (require.main === module) {
  bundleWorker().catch(() => {
    process.exitCode = 1; // esbuild has printed why
  });
}

module.exports = { bundleWorker, WORKER_BUNDLE, LAZY_PARTS };
