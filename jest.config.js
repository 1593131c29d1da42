/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Types are stripped, not checked: `npm run lint` type-checks (see the transform).
  transform: { '^.+\\.ts$': '<rootDir>/test/esbuild-transform.js' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // Integration tests start real servers: two at a time suits a 2-core machine.
  maxWorkers: 2,
};
