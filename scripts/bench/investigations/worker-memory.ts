/**
 * node dist/scripts/bench/investigations/worker-memory.js [--seconds 180] [--clients 20]
 *
 * Where a worker's memory goes in its first minutes: our server and the floor run side
 * by side, each with --clients clients (pushes every second), their workers replaced by
 * the memory probe (worker-probe.ts). Every 10 s: the mean of /proc/PID/smaps_rollup
 * over each server's serving workers, and the probe's process.memoryUsage() and V8
 * heap spaces. Prints one line per sample and kind, and the growth from the first.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_WORKER_ENTRY } from '../../../src/master/pool/worker-process';
import { numberArg } from '../../lib/args';
import { commandLine, childPids } from '../../lib/proc';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { sleep } from '../../lib/sleep';
import { BenchClient } from '../load-client';
import { FLOOR_NODE_FLAGS, ours } from '../servers';
import { round } from '../stats';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    clients: { type: 'string', default: '20' },
  },
});
const seconds = numberArg('seconds', args.seconds, { min: 0 });
const clientCount = numberArg('clients', args.clients, { min: 1 });
const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-memory-'));
const PROBE = path.join(__dirname, 'worker-probe.js');
const FIELDS = [
  'Rss',
  'Pss',
  'Pss_Anon',
  'Pss_File',
  'Private_Dirty',
  'Private_Clean',
  'Shared_Clean',
];

function rollup(pid: number): Record<string, number> | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const values: Record<string, number> = {};
    for (const field of FIELDS)
      values[field] = Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return values;
  } catch {
    return undefined;
  }
}

function mean(rows: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(rows[0] ?? {})) {
    out[key] = round(rows.reduce((sum, row) => sum + row[key], 0) / rows.length, 0);
  }
  return out;
}

interface ProbeLine {
  pid: number;
  seconds: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

function probeLines(file: string): ProbeLine[] {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ProbeLine);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const oursFile = path.join(dir, 'ours.jsonl');
  const floorFile = path.join(dir, 'floor.jsonl');
  const probeEnv = (file: string, target: string): NodeJS.ProcessEnv => ({
    BENCH_WORKER_PROBE_FILE: file,
    BENCH_WORKER_PROBE_TARGET: target,
  });
  const us = ours(['--spare-workers', '0']);
  process.env.PUSH_WEBSOCKET_TEST_WORKER_ENTRY = PROBE;
  Object.assign(process.env, probeEnv(oursFile, DEFAULT_WORKER_ENTRY));
  const server = await us(0).ready();
  const floor = await ServerProcess.spawn(
    process.execPath,
    [path.join(__dirname, '../floor-server.js'), '--port', '0', '--interval', '1'],
    {
      env: {
        ...process.env,
        ...probeEnv(floorFile, path.join(__dirname, '../floor-worker.js')),
        FLOOR_WORKER_ENTRY: PROBE,
        FLOOR_NODE_FLAGS: FLOOR_NODE_FLAGS.join(' '),
      },
    },
  ).ready();
  const clients: BenchClient[] = [];
  try {
    for (let i = 0; i < clientCount; i++) {
      clients.push(await BenchClient.open(server.port), await BenchClient.open(floor.port));
    }
    const started = Date.now();
    const first: Record<string, Record<string, number>> = {};
    for (let t = 0; t <= seconds; t += 10) {
      await sleep(Math.max(0, started + t * 1000 - Date.now()));
      for (const [kind, proc, file] of [
        ['ours', server, oursFile],
        ['floor', floor, floorFile],
      ] as const) {
        const workers = childPids(proc.pid).filter(
          (pid) => !(commandLine(pid) ?? '').includes('idle'),
        );
        const rows = workers
          .map(rollup)
          .filter((r): r is Record<string, number> => r !== undefined);
        const latest = new Map<number, ProbeLine>();
        for (const line of probeLines(file)) latest.set(line.pid, line);
        const heap = mean(
          [...latest.values()].map((l) => ({
            heapUsed: l.heapUsed,
            heapTotal: l.heapTotal,
            external: l.external,
            code: l.spaces.code_space ?? 0,
            old: l.spaces.old_space ?? 0,
            new: l.spaces.new_space ?? 0,
            oldCommitted: l.spaces['old_space:committed'] ?? 0,
            newCommitted: l.spaces['new_space:committed'] ?? 0,
            codeCommitted: l.spaces['code_space:committed'] ?? 0,
          })),
        );
        const smaps = mean(rows);
        first[kind] ??= { ...smaps, ...heap };
        const growth = Object.fromEntries(
          Object.entries({ ...smaps, ...heap }).map(([k, v]) => [k, v - (first[kind][k] ?? 0)]),
        );
        console.log(
          `${t}s ${kind} (${rows.length} workers, KiB) ${JSON.stringify(smaps)} heap ${JSON.stringify(heap)} growth ${JSON.stringify(growth)}`,
        );
      }
    }
  } finally {
    for (const client of clients) client.destroy();
    await server.stop();
    await floor.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.stack);
  process.exit(1);
});
