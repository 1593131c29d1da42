// Runs in `npm run build`: the client library and the page, for browsers and Node.
//
//   dist/client/client.js     the library (src/client/index.ts) as one ES module: served at
//                             GET /client.js, and the package's `push-websocket/client`
//   dist/client/types/        its type declarations (tsc, tsconfig.client.json)
//   dist/client/index.html    the page: src/client/index.html with src/client/page/page.ts
//                             bundled into it (one request, so the page works behind any
//                             proxy that serves `/`)
//
// dist/client/package.json says "type": "module", so Node (and TypeScript) read the
// library and its declarations as ES modules in a package that is otherwise CommonJS.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const OUT = 'dist/client';
const CLIENT_BUNDLE = `${OUT}/client.js`;
const PAGE = `${OUT}/index.html`;
const MARKER = /^ *<!-- page-script: .* -->$/m;

function bundleClient() {
  // Required here, not at the top: build-if-needed reads CLIENT_BUNDLE without esbuild.
  const esbuild = require('esbuild');
  const common = {
    absWorkingDir: root,
    bundle: true,
    // Browsers of 2021 on, and Node 20: class fields and ?? stay as written.
    target: ['chrome90', 'firefox90', 'safari15', 'node20'],
    legalComments: 'none',
    logLevel: 'warning',
  };
  fs.mkdirSync(path.join(root, OUT), { recursive: true });
  esbuild.buildSync({
    ...common,
    entryPoints: ['src/client/index.ts'],
    outfile: CLIENT_BUNDLE,
    platform: 'neutral',
    format: 'esm',
  });
  const page = esbuild.buildSync({
    ...common,
    entryPoints: ['src/client/page/page.ts'],
    platform: 'browser',
    format: 'iife',
    write: false,
  });
  const script = page.outputFiles[0].text;
  // Inside <script>, the text "</script" would end it early.
  if (/<\/script/i.test(script)) throw new Error('the page bundle contains "</script"');
  const html = fs.readFileSync(path.join(root, 'src/client/index.html'), 'utf8');
  if (!MARKER.test(html)) throw new Error('src/client/index.html has no page-script marker');
  const inlined = html.replace(MARKER, () => `    <script>\n${script}    </script>`);
  fs.writeFileSync(path.join(root, PAGE), inlined);
  fs.writeFileSync(path.join(root, OUT, 'package.json'), '{ "type": "module" }\n');
  declarations();
}

/**
 * tsc writes the declarations with the imports as the sources spell them ("./lib/client");
 * an ES module's must name the file ("./lib/client.js"), as Node resolves them.
 */
function declarations() {
  const types = path.join(root, OUT, 'types');
  fs.rmSync(types, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.client.json'],
    { cwd: root, stdio: 'inherit' },
  );
  for (const file of walk(types)) {
    const text = fs.readFileSync(file, 'utf8');
    const fixed = text.replace(/(from '|import\(')(\.{1,2}\/[^']+?)(?<!\.js)'/g, "$1$2.js'");
    fs.writeFileSync(file, fixed);
  }
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

if (require.main === module) bundleClient();

module.exports = { bundleClient, CLIENT_BUNDLE, PAGE };
