/**
 * An instrumented worker for memory investigations (never in production): set as
 * PUSH_WEBSOCKET_TEST_WORKER_ENTRY (ours) or FLOOR_WORKER_ENTRY (the floor), it appends
 * process.memoryUsage() and V8's heap spaces to BENCH_WORKER_PROBE_FILE every
 * BENCH_WORKER_PROBE_MS (10 s), then loads the real worker named by
 * BENCH_WORKER_PROBE_TARGET. Its own cost: one timer and the v8 module.
 */
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.BENCH_WORKER_PROBE_FILE as string;
const target = process.env.BENCH_WORKER_PROBE_TARGET as string;
const every = Number(process.env.BENCH_WORKER_PROBE_MS ?? 10000);
const started = Date.now();

function sample(): void {
  // Per V8 heap space: KiB used, and KiB committed (what the process has touched).
  const spaces: Record<string, number> = {};
  for (const space of getHeapSpaceStatistics()) {
    spaces[space.space_name] = Math.round(space.space_used_size / 1024);
    spaces[`${space.space_name}:committed`] = Math.round(space.physical_space_size / 1024);
  }
  const m = process.memoryUsage();
  const kib = (bytes: number): number => Math.round(bytes / 1024);
  appendFileSync(
    file,
    `${JSON.stringify({
      pid: process.pid,
      seconds: Math.round((Date.now() - started) / 1000),
      rss: kib(m.rss),
      heapTotal: kib(m.heapTotal),
      heapUsed: kib(m.heapUsed),
      external: kib(m.external),
      arrayBuffers: kib(m.arrayBuffers),
      spaces,
    })}\n`,
  );
}

setInterval(sample, every).unref();
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(target);
