/**
 * What a failed Redis command means for its caller (pure: the error's class and text):
 * - 'not sent': ioredis refused it before writing (the link was down, and its offline
 *   queue is off): nothing happened;
 * - 'refused': Redis answered with an error (READONLY after a failover, LOADING, OOM,
 *   BUSY, ...): the command was not run (our scripts fail at their first write, before
 *   any effect, on each of these);
 * - 'cut': it was written and the link broke, or no answer came in time (ioredis'
 *   "Reached the max retries per request limit" when the connection closes under it,
 *   "Command timed out", a reset): it may or may not have run.
 * Anything else is taken as 'cut' too: claiming less than we know is the safe side.
 */
export type RedisFault = 'not sent' | 'refused' | 'cut';

const NOT_SENT = /Stream isn't writeable|enableOfflineQueue/;

export function redisFault(error: unknown): RedisFault {
  if (!(error instanceof Error)) return 'cut';
  // ioredis' ReplyError (from redis-errors): an error reply from the server.
  if (error.name === 'ReplyError') return 'refused';
  if (NOT_SENT.test(error.message)) return 'not sent';
  return 'cut';
}
