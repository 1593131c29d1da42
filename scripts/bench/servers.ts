import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAIN, NODE_ARGS, ROOT, ServerProcess, mainIn } from '../lib/server-process';
import type { ProbeRecord } from './master-probe';

/** The servers a bench run compares, and how each is started. */

export const PUBLISH_TOKEN = 'bench-publish-token';
/** Where the master probe of each of our masters writes its record. */
export const PROBE_DIR = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-bench-probe-'));
/** Pushes every second, as every figure here assumes. */
const INTERVAL = ['--interval-min', '1', '--interval-max', '1'];
/** Node flags of the floor's workers: the same V8 pool of one thread as ours. */
export const FLOOR_NODE_FLAGS = ['--v8-pool-size=1'];

/**
 * MAX of the adaptive server: a burst of 20 in 100 ms on 2 cores leaves its last client
 * waiting for (20 - ready spares) / 2 start-ups, 9 with the default's 2; 12 spares leave
 * 4, under half (8 leave 6). See docs/performance.md.
 */
export const ADAPTIVE_MAX = 12;

export type Phase = 'paced' | 'churn' | 'bursts' | 'steps';

/** Which server of the comparison a kind is (the checks and the tests find them by it). */
export type ServerRole = 'zero' | 'default' | 'adaptive' | 'floor' | 'ws';

export interface ServerKind {
  name: string;
  role: ServerRole;
  /**
   * Idle children it keeps at most when no client is connected (what "settled" means):
   * its spares, MAX with `--spare-workers MIN:MAX`.
   */
  maxIdle: number;
  /** Ours: started with the master probe, publishes need the token. */
  ours: boolean;
  phases: Phase[];
  /** A plain function (every kind gives a closure), so it can be passed around alone. */
  start: (port: number) => ServerProcess;
}

/**
 * Our server as `npm start` runs it, plus the master probe (--require); `root`: another
 * checkout's build (before/after pairs); `extraEnv` added to the environment.
 */
export function ours(flags: string[], root?: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return (port: number): ServerProcess =>
    ServerProcess.spawn(
      process.execPath,
      [
        NODE_ARGS[0],
        '--require',
        path.join(__dirname, 'master-probe.js'),
        root === undefined ? MAIN : mainIn(root),
        '--port',
        String(port),
        '--max-clients',
        '3000',
        ...INTERVAL,
        ...flags,
      ],
      {
        cwd: root ?? ROOT,
        env: {
          ...process.env,
          ...extraEnv,
          PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN,
          BENCH_PROBE_DIR: PROBE_DIR,
        },
      },
    );
}

/**
 * The floor server (floor-server.ts) on `port`, demo pushes every `interval` seconds,
 * its workers run with `nodeFlags` (FLOOR_NODE_FLAGS unless given), `args` and `env` added.
 */
export function floorServer(
  port: number,
  options: {
    interval?: string;
    nodeFlags?: string[];
    args?: string[];
    env?: NodeJS.ProcessEnv;
  } = {},
): ServerProcess {
  const { interval = '1', nodeFlags = FLOOR_NODE_FLAGS, args = [], env = {} } = options;
  return ServerProcess.spawn(
    process.execPath,
    [
      path.join(__dirname, 'floor-server.js'),
      '--port',
      String(port),
      '--interval',
      interval,
      ...args,
    ],
    { env: { ...process.env, ...env, FLOOR_NODE_FLAGS: nodeFlags.join(' ') } },
  );
}

export const SERVERS: ServerKind[] = [
  {
    name: 'push-websocket --spare-workers 0',
    role: 'zero',
    maxIdle: 0,
    ours: true,
    phases: ['paced', 'churn'],
    start: ours(['--spare-workers', '0']),
  },
  {
    name: 'push-websocket (default spares)',
    role: 'default',
    maxIdle: 2,
    ours: true,
    phases: ['paced', 'churn', 'bursts', 'steps'],
    start: ours([]),
  },
  {
    // Two spares when quiet, up to ADAPTIVE_MAX while clients arrive faster than spares
    // are replaced: the spare policy for bursts (bench.ts checks it against the default's
    // bursts and counts the extra idle workers it keeps). It replaces the run with 5
    // spares: while bursts recur it holds more than 5, and its first burst, on a fresh
    // server, shows what any burst after a long quiet time gets (2 spares).
    name: `push-websocket (adaptive 2:${ADAPTIVE_MAX})`,
    role: 'adaptive',
    maxIdle: ADAPTIVE_MAX,
    ours: true,
    phases: ['paced', 'churn', 'bursts'],
    start: ours(['--spare-workers', `2:${ADAPTIVE_MAX}`]),
  },
  {
    name: 'floor (minimal fork per client)',
    role: 'floor',
    maxIdle: 0,
    ours: false,
    phases: ['paced', 'churn', 'bursts', 'steps'],
    start: (port) => floorServer(port),
  },
  {
    name: 'ws reference (one process)',
    role: 'ws',
    maxIdle: 0,
    ours: false,
    phases: ['paced', 'churn', 'bursts', 'steps'],
    start: (port) =>
      ServerProcess.spawn(process.execPath, [
        path.join(__dirname, 'ws-reference.js'),
        '--port',
        String(port),
        '--interval-min',
        '1',
        '--interval-max',
        '1',
      ]),
  },
];

/** The kind with this role. */
export function kindOf(role: ServerRole): ServerKind {
  const kind = SERVERS.find((k) => k.role === role);
  if (kind === undefined) throw new Error(`no bench server with the role ${role}`);
  return kind;
}

/** The probe record a master wrote when it exited, if it did. */
export function probeOf(pid: number): ProbeRecord | undefined {
  try {
    // Written by our own probe (scripts/bench/master-probe), so its shape is known.
    return JSON.parse(
      readFileSync(path.join(PROBE_DIR, `master-${pid}.json`), 'utf8'),
    ) as ProbeRecord;
  } catch {
    return undefined;
  }
}
