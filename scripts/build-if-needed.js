// Runs before `npm start`: builds (compiles TypeScript, bundles the worker) when dist/ is
// missing or older than a source.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { bundleWorker, WORKER_BUNDLE } = require('./bundle-worker');
const { bundleClient, CLIENT_BUNDLE, PAGE } = require('./bundle-client');

const root = path.resolve(__dirname, '..');
const outputs = ['dist/src/main.js', WORKER_BUNDLE, CLIENT_BUNDLE, PAGE].map((f) =>
  path.join(root, f),
);

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.html'))
      newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

const built = Math.min(...outputs.map((f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0)));
const source = Math.max(
  newestSource(path.join(root, 'src')),
  newestSource(path.join(root, 'workers')),
);
if (built < source) {
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  bundleWorker().then(bundleClient, () => {
    process.exitCode = 1; // esbuild has printed why
  });
}
