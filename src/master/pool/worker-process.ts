import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { WORKER_CONFIG_ENV, type WorkerConfig } from '../../shared/config';

/** The worker, bundled into one file at build (scripts/bundle-worker.js); PUSH_WEBSOCKET_TEST_WORKER_ENTRY replaces it (for fault tests only). */
export const DEFAULT_WORKER_ENTRY = path.resolve(
  __dirname,
  '../../../workers/push-worker.bundle.js',
);

/** Enough argv bytes for the longest worker title (process.title cannot outgrow them). */
const TITLE_ROOM = 128;
const IDLE_TITLE = 'push-websocket worker idle';
/**
 * Node flags for every worker. A V8 pool of one thread (Node's default is 4) takes a
 * worker from 7 threads to 4 at no measurable cost for this workload; threads count
 * against the kernel's pid_max (32768) when thousands of clients are connected.
 */
export const WORKER_NODE_FLAGS = [`--title=${IDLE_TITLE}`, '--v8-pool-size=1'];

/**
 * Workers run at a lower CPU priority than the master: a Node start-up is about 0.1 s
 * of CPU, and while replacements start the master must still answer handshakes and
 * quits at once. (Raising a niceness needs no privilege; lowering it back would.)
 */
const WORKER_NICENESS = 5;

/**
 * Server variables a worker never gets: secrets (an --exec command inherits the
 * worker's environment), and NODE_EXTRA_CA_CERTS, which Node parses eagerly at every
 * start (measured here: a bare start's CPU 61 ms with it, 24 ms without) although a
 * worker does no TLS. Commands get it back through WorkerConfig.commandEnv.
 */
const KEPT_FROM_WORKERS = [
  'PUSH_WS_PUBLISH_TOKEN',
  'PUSH_WS_ADMIN_TOKEN',
  'PUSH_WS_REDIS',
  'NODE_EXTRA_CA_CERTS',
];

/** A worker's environment: the server's, less what it must not have, plus its settings. */
export function workerEnvironment(
  config: WorkerConfig,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, [WORKER_CONFIG_ENV]: JSON.stringify(config) };
  for (const name of KEPT_FROM_WORKERS) delete env[name];
  return env;
}

/**
 * How the pool forks its workers, worked out once (the settings never change): a
 * function that forks one worker process: argv padded so its title fits, stdout and
 * stderr shared with the master (the journal takes both), an IPC channel, the publish
 * pipe (fd 4, src/shared/publish-stream.ts), a lower priority. It may throw (or emit
 * 'error' with no pid) when the kernel refuses the fork.
 */
export function workerForker(entry: string, config: WorkerConfig): () => ChildProcess {
  const execArgv = WORKER_NODE_FLAGS;
  const args: string[] = [];
  const room = [process.execPath, ...execArgv, entry].reduce(
    (sum, arg) => sum + Buffer.byteLength(arg) + 1,
    0,
  );
  if (room < TITLE_ROOM) args.push('-'.repeat(TITLE_ROOM - room));
  const env = workerEnvironment(config);
  return () => forkOne(entry, args, execArgv, env);
}

function forkOne(
  entry: string,
  args: string[],
  execArgv: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const child = fork(entry, args, {
    execArgv,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'], // fd 4: PUBLISH_FD
  });
  try {
    // (pid 0 would be the master itself: a spawn that failed has no pid)
    if (child.pid !== undefined) os.setPriority(child.pid, WORKER_NICENESS);
  } catch {
    // not allowed here: it runs at the master's priority
  }
  return child;
}
