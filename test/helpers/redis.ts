import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { HANG_BOUND_MS } from './wait';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** A free TCP port on the loopback (the kernel's pick; free when this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<RedisProcess>();

/**
 * A real redis-server, a child in the foreground: no persistence (`--save ''`,
 * `--appendonly no`), loopback only. Stopped by PID (stop, or kill for a crash).
 */
export class RedisProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A crash: SIGKILL by PID, resolved once the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM by PID, then SIGKILL after a bound. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.alive) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.alive) process.kill(this.pid, 'SIGKILL');
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface RedisOptions {
  /** A port to listen on (a restart on the same port); a free one when left out. */
  port?: number;
  timeoutMs?: number;
}

/** Starts redis-server and resolves once it logs "Ready to accept connections". */
export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const redis = new RedisProcess(child, port);
  running.add(redis);
  const timeoutMs = options.timeoutMs ?? HANG_BOUND_MS;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis-server not ready in ${timeoutMs} ms:\n${redis.output}`));
    }, timeoutMs);
    const onData = (): void => {
      if (!redis.output.includes('Ready to accept connections')) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${redis.output}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
  return redis;
}

/** Stops every redis-server this test file started (call from afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((redis) => redis.stop()));
}
