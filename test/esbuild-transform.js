// Jest's transform for TypeScript: esbuild strips the types, file by file, and checks
// nothing. Type checking is `npm run lint` (tsc --noEmit over the same files, with
// isolatedModules on, so every file compiles alone as this transform compiles it).
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const esbuild = require('esbuild');

const tsconfigRaw = fs.readFileSync(require.resolve('../tsconfig.json'), 'utf8');
const self = fs.readFileSync(__filename, 'utf8');

module.exports = {
  process(source, filename) {
    const { code, map } = esbuild.transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      // As tsc's CommonJS output does: import() becomes a require (jest's module loader
      // has no dynamic import without --experimental-vm-modules).
      supported: { 'dynamic-import': false },
      sourcefile: filename,
      sourcemap: 'external',
      tsconfigRaw,
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256')
      .update(esbuild.version)
      .update(self)
      .update(tsconfigRaw)
      .update(filename)
      .update(source)
      .digest('hex');
  },
};
