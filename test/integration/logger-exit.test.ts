import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/server';

/**
 * A line logged while the master exits (after flush: a hot upgrade's old master reaps
 * a worker that ended meanwhile) is dropped; it used to crash the exiting process with
 * "write after end" and a stack trace.
 */
test('a line logged after the logger is flushed for exit is dropped, not a crash', () => {
  const logger = path.join(ROOT, 'dist/src/master/observability/logger.js');
  const script = `
    const { createLogger } = require(${JSON.stringify(logger)});
    const log = createLogger('info', 'text');
    log.info('before the exit');
    log.flush().then(() => {
      log.info('a child reaped while exiting');
      setTimeout(() => process.exit(0), 100);
    });
  `;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15000 });
  expect(run.stderr).not.toMatch(/write after end|Error/);
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/before the exit/);
});
