/**
 * Preloaded into our master by the bench (`node --require master-probe.js`), never in
 * production: records what the master's event loop waits on, without touching src/.
 *
 * - every child_process.fork call: when it started and how long it blocked (libuv's
 *   spawn returns only after the child has exec'd, so the loop waits that long);
 * - the event-loop delay (perf_hooks histogram), as one summary a second;
 * - the master's RSS once a second.
 *
 * Times are epoch milliseconds (timeOrigin + now) so the bench can line them up with
 * its clients' connect and 101 times. Written to BENCH_PROBE_DIR/master-PID.json when
 * the process exits.
 */
import childProcess from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface ProbeRecord {
  pid: number;
  /** [start, end] of each synchronous fork, epoch ms. */
  forks: [number, number][];
  /** One per second: epoch ms, event-loop delay max and p99 (ms), RSS (MiB). */
  seconds: { at: number; delayMaxMs: number; delayP99Ms: number; rssMiB: number }[];
}

const now = (): number => performance.timeOrigin + performance.now();
const dir = process.env.BENCH_PROBE_DIR;

if (dir !== undefined) {
  const record: ProbeRecord = { pid: process.pid, forks: [], seconds: [] };
  const original = childProcess.fork;
  const timed = function (this: unknown, ...args: unknown[]) {
    const started = now();
    try {
      return (original as (...a: unknown[]) => childProcess.ChildProcess).apply(this, args);
    } finally {
      record.forks.push([started, now()]);
    }
  };
  (childProcess as { fork: unknown }).fork = timed;

  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  setInterval(() => {
    record.seconds.push({
      at: now(),
      delayMaxMs: delay.max / 1e6,
      delayP99Ms: delay.percentile(99) / 1e6,
      rssMiB: process.memoryUsage.rss() / 2 ** 20,
    });
    delay.reset();
  }, 1000).unref();

  process.on('exit', () => {
    writeFileSync(path.join(dir, `master-${process.pid}.json`), JSON.stringify(record));
  });
}
