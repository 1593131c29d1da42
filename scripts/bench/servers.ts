import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAIN, NODE_ARGS, ROOT, ServerProcess } from '../lib/server-process';
import type { ProbeRecord } from './master-probe';

/** The servers a bench run compares, and how each is started. */

export const PUBLISH_TOKEN = 'bench-publish-token';
/** Where the master probe of each of our masters writes its record. */
export const PROBE_DIR = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-bench-probe-'));
/** Pushes every second, as every figure here assumes. */
const INTERVAL = ['--interval-min', '1', '--interval-max', '1'];
/** Node flags of the floor's workers: the same V8 pool of one thread as ours. */
export const FLOOR_NODE_FLAGS = ['--v8-pool-size=1'];

export type Phase = 'paced' | 'churn' | 'bursts' | 'steps';

export interface ServerKind {
  name: string;
  /** Idle children it keeps when no client is connected (what "settled" means). */
  spares: number;
  /** Ours: started with the master probe, publishes need the token. */
  ours: boolean;
  phases: Phase[];
  start(port: number): ServerProcess;
}

/** Our server as `npm start` runs it, plus the master probe (--require). */
export function ours(flags: string[]) {
  return (port: number): ServerProcess =>
    ServerProcess.spawn(
      process.execPath,
      [
        NODE_ARGS[0],
        '--require',
        path.join(__dirname, 'master-probe.js'),
        MAIN,
        '--port',
        String(port),
        '--max-clients',
        '3000',
        ...INTERVAL,
        ...flags,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN, BENCH_PROBE_DIR: PROBE_DIR },
      },
    );
}

export const SERVERS: ServerKind[] = [
  {
    name: 'push-websocket --spare-workers 0',
    spares: 0,
    ours: true,
    phases: ['paced', 'churn'],
    start: ours(['--spare-workers', '0']),
  },
  {
    name: 'push-websocket (default spares)',
    spares: 2,
    ours: true,
    phases: ['paced', 'churn', 'bursts', 'steps'],
    start: ours([]),
  },
  {
    // More idle spares, no other change: what halves a burst's wait (bench.ts checks it
    // against the default's burst, and counts the extra idle workers it keeps).
    name: 'push-websocket --spare-workers 5',
    spares: 5,
    ours: true,
    phases: ['paced', 'churn', 'bursts'],
    start: ours(['--spare-workers', '5']),
  },
  {
    name: 'floor (minimal fork per client)',
    spares: 0,
    ours: false,
    phases: ['paced', 'churn', 'bursts', 'steps'],
    start: (port) =>
      ServerProcess.spawn(
        process.execPath,
        [path.join(__dirname, 'floor-server.js'), String(port), '1'],
        {
          env: { ...process.env, FLOOR_NODE_FLAGS: FLOOR_NODE_FLAGS.join(' ') },
        },
      ),
  },
  {
    name: 'ws reference (one process)',
    spares: 0,
    ours: false,
    phases: ['paced', 'churn', 'bursts', 'steps'],
    start: (port) =>
      ServerProcess.spawn(process.execPath, [
        path.join(__dirname, 'ws-reference.js'),
        String(port),
        '1',
        '1',
      ]),
  },
];

/** The probe record a master wrote when it exited, if it did. */
export function probeOf(pid: number): ProbeRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(PROBE_DIR, `master-${pid}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}
