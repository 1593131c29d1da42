import { createLogger } from '../../src/master/observability/logger';

/** Meta whose `client` counts how often it is read (winston reads it to build a line). */
function countingMeta(): { meta: { client: number }; reads: () => number } {
  let reads = 0;
  const meta = {
    get client(): number {
      reads++;
      return 7;
    },
  };
  return { meta, reads: () => reads };
}

// Regression: winston formats every line and leaves the level to its transports, so at
// --log-level info each debug line (four a handshake) was built, escaped and timestamped,
// then dropped. A line below the level is now not looked at.
describe('a debug line below --log-level', () => {
  test('at info it is not built; after a change to debug it is', async () => {
    const logger = createLogger('info', 'text');
    const quiet = countingMeta();
    logger.debug('Creating client...', quiet.meta);
    expect(quiet.reads()).toBe(0);
    expect(logger.isDebugEnabled()).toBe(false);

    logger.setLevel('debug');
    const shown = countingMeta();
    logger.debug('Creating client...', shown.meta);
    expect(shown.reads()).toBeGreaterThan(0);
    expect(logger.isDebugEnabled()).toBe(true);
    await logger.flush();
  });
});
