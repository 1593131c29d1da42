import { spawn } from 'node:child_process';
import { freePort } from '../lib/free-port';
import { LoggedProcess } from '../lib/server-process';

const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * A redis-server for a bench run, in the foreground on a free loopback port, with no
 * persistence; resolved once it accepts connections. Stop it with `terminate`.
 */
export async function benchRedis(): Promise<{ redis: LoggedProcess; url: string }> {
  const port = await freePort();
  const redis = new LoggedProcess(
    spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  await redis.readyOn(/Ready to accept connections/, 15_000, 'redis-server');
  return { redis, url: `redis://127.0.0.1:${port}` };
}
