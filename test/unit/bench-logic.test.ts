import { spawn } from 'node:child_process';
import { LoggedProcess } from '../../scripts/lib/server-process';
import { missingPrograms } from '../../scripts/bench/sections';
import { burstsOf } from '../../scripts/bench/arrivals';
import { forkWaits } from '../../scripts/bench/probe-analysis';
import { reconnectDelayMs } from '../../scripts/bench/reconnect-policy';

/**
 * The bench's pure parts: when a reconnecting client retries, forks vs handshakes, and
 * bursts split into the first and the later ones.
 */
describe('reconnectDelayMs (back-off with full jitter, Retry-After as a floor)', () => {
  const policy = { baseMs: 500, capMs: 8000 };

  test('grows with failures up to the cap, scaled by the random draw', () => {
    expect(reconnectDelayMs(0, undefined, () => 0.5, policy)).toBe(250);
    expect(reconnectDelayMs(3, undefined, () => 0.5, policy)).toBe(2000);
    expect(reconnectDelayMs(10, undefined, () => 0.999, policy)).toBeCloseTo(7992);
    expect(reconnectDelayMs(10_000, undefined, () => 0.5, policy)).toBe(4000);
  });

  test('never waits less than Retry-After, and spreads those told the same', () => {
    expect(reconnectDelayMs(0, 5, () => 0, policy)).toBe(5000);
    expect(reconnectDelayMs(0, 5, () => 0.999, policy)).toBeCloseTo(7497.5);
    // A long back-off already past Retry-After stays as it is.
    expect(reconnectDelayMs(5, 1, () => 0.9, policy)).toBeCloseTo(7200);
  });
});

describe('forkWaits', () => {
  const probe = {
    pid: 1,
    forks: [
      [100, 104],
      [500, 512],
      [5000, 5003],
    ] as [number, number][],
    seconds: [
      { at: 1000, delayMaxMs: 12, delayP99Ms: 11, rssMiB: 50 },
      { at: 9000, delayMaxMs: 99, delayP99Ms: 99, rssMiB: 50 },
    ],
  };

  test('counts the handshakes a fork overlapped, within the phase only', () => {
    const result = forkWaits(
      probe,
      [
        [98, 106], // waited behind the first fork
        [200, 202], // clear
        [511, 520], // its start fell inside the second fork
      ],
      [0, 1000],
    );
    expect(result).toMatchObject({ forks: 2, handshakes: 3, behindFork: 2 });
    expect(result.forkBlockMs).toMatchObject({ p50: 4, max: 12, n: 2 });
    expect(result.upgradeBehindFork).toMatchObject({ max: 9, n: 2 });
    expect(result.upgradeClear).toMatchObject({ max: 2, n: 1 });
    expect(result.loopDelayMaxMs).toBe(12);
  });
});

describe('burstsOf', () => {
  test('all bursts together, the first alone, and the later ones together', () => {
    const b = burstsOf([
      [300, 100, 200],
      [10, 20, 30],
      [40, 50, 60.123],
    ]);
    expect(b.perBurst).toBe(3);
    expect(b.firstPushes).toEqual([300, 100, 200, 10, 20, 30, 40, 50, 60.12]);
    expect(b.firstPush).toMatchObject({ p50: 50, max: 300, n: 9 });
    expect(b.first).toMatchObject({ p50: 200, max: 300, n: 3 });
    expect(b.later).toMatchObject({ p50: 30, max: 60.12, n: 6 });
  });

  test('one burst has no later ones', () => {
    const b = burstsOf([[5, 7]]);
    expect(b.first).toMatchObject({ max: 7, n: 2 });
    expect(b.later).toBeUndefined();
  });
});

// Regression: a full bench on a machine without redis-server ran for half an hour, then
// died of an unhandled spawn 'error' in the instances section and printed nothing.
describe('a program the bench needs and cannot start', () => {
  test('missingPrograms names the section and the package, and only what is missing', () => {
    const programs = {
      instances: [{ path: '/nonexistent/redis-server', from: 'redis-server' }],
      sse: [{ path: process.execPath, from: 'nodejs' }],
    };
    expect(missingPrograms(new Set(['instances', 'sse', 'churn']), programs)).toEqual([
      {
        section: 'instances',
        line: 'the instances section needs /nonexistent/redis-server (Debian package redis-server)',
      },
    ]);
    expect(missingPrograms(new Set(['churn']), programs)).toEqual([]);
  });

  test('LoggedProcess.readyOn rejects with the spawn error instead of crashing', async () => {
    const started = new LoggedProcess(spawn('/nonexistent/redis-server', [], { stdio: 'pipe' }));
    await expect(started.readyOn(/Ready/, 5000, 'redis-server')).rejects.toThrow(
      /redis-server exited \(null\) before it was ready:\ncould not start it: spawn \/nonexistent\/redis-server ENOENT/,
    );
    expect(started.running).toBe(false); // nothing to stop
    await expect(started.exited).resolves.toEqual({ code: null, signal: null });
  });
});
