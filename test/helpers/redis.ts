import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../scripts/lib/free-port';
import { LoggedProcess } from '../../scripts/lib/server-process';
import { RunningProcesses } from './running';
import { HANG_BOUND_MS } from './wait';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_SENTINEL = '/usr/bin/redis-sentinel';

export { freePort };

const running = new RunningProcesses<RedisProcess>();

/**
 * A real redis-server, a child in the foreground: no persistence (`--save ''`,
 * `--appendonly no`), loopback only. Stopped by PID (stop, or kill for a crash).
 */
export class RedisProcess extends LoggedProcess {
  constructor(
    child: ChildProcess,
    readonly port: number,
  ) {
    super(child);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A crash: SIGKILL by PID, resolved once the process is gone. */
  async kill(): Promise<void> {
    if (this.running) process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM by PID, then SIGKILL after a bound. */
  async stop(timeoutMs = 5000): Promise<void> {
    await this.terminate(timeoutMs);
  }
}

export interface RedisOptions {
  /** A port to listen on (a restart on the same port); a free one when left out. */
  port?: number;
  timeoutMs?: number;
  /** More redis-server flags (`--replicaof`, `--requirepass`, persistence), after ours. */
  args?: string[];
}

/** Starts redis-server and resolves once it logs "Ready to accept connections". */
export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const redis = new RedisProcess(child, port);
  running.add(redis);
  await redis.readyOn(
    /Ready to accept connections/,
    options.timeoutMs ?? HANG_BOUND_MS,
    'redis-server',
  );
  return redis;
}

export interface SentinelOptions {
  /** The master group's name and where its primary is. */
  name: string;
  primaryPort: number;
  /** The primary's requirepass, if any (`sentinel auth-pass`). */
  password?: string;
  quorum?: number;
  /** A short down-after and failover-timeout keep a test's failover within seconds. */
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** Where its config file goes: Sentinel rewrites that file, so it must be writable. */
  dir: string;
}

/**
 * A real redis-sentinel in the foreground watching one primary, its config file in
 * `options.dir`; resolves once it monitors the primary. Stopped by PID like redis-server.
 */
export async function startSentinel(options: SentinelOptions): Promise<RedisProcess> {
  const port = await freePort();
  const config = path.join(options.dir, `sentinel-${port}.conf`);
  const name = options.name;
  const lines = [
    `port ${port}`,
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${options.dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${options.primaryPort} ${options.quorum ?? 2}`,
    `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
    `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 3000}`,
    `sentinel parallel-syncs ${name} 1`,
  ];
  if (options.password !== undefined) lines.push(`sentinel auth-pass ${name} ${options.password}`);
  writeFileSync(config, `${lines.join('\n')}\n`, { mode: 0o600 });
  const child = spawn(REDIS_SENTINEL, [config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sentinel = new RedisProcess(child, port);
  running.add(sentinel);
  await sentinel.readyOn(/\+monitor master/, HANG_BOUND_MS, 'redis-sentinel');
  return sentinel;
}

/** Stops every redis-server this test file started (call from afterAll). */
export async function stopAllRedis(): Promise<void> {
  await running.stopAll();
}
