import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/server';

/**
 * A smoke test of `npm run bench -- --quick`: it runs to the end and its report has
 * every figure. Times are checked by no test (they belong to the benchmark itself).
 */
const spreadShape = {
  p50: expect.any(Number),
  p90: expect.any(Number),
  p99: expect.any(Number),
  n: expect.any(Number),
};

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('prints the table and writes a JSON report of the right shape', async () => {
    const file = path.join(dir, 'report.json');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'dist/scripts/bench/bench.js'), '--quick', '--json', file],
        { cwd: ROOT, timeout: 90000 },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
    });
    expect(stdout).toMatch(/\| \(a\) connect → first push/);
    expect(stdout).toMatch(/Targets:/);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.quick).toBe(true);
    expect(report.bareNode).toEqual({ wallMs: spreadShape, cpuSeconds: expect.any(Number) });
    expect(report.worker).toEqual({
      forkToReady: spreadShape,
      idlePssMiB: expect.any(Number),
      threads: expect.any(Number),
    });
    expect(report.results.map((r: { name: string }) => r.name)).toEqual([
      'push-websocket --spare-workers 0',
      'push-websocket (default spares)',
      'ws reference (one process)',
    ]);
    for (const result of report.results) {
      expect(result.sequential).toEqual({
        upgrade: spreadShape,
        firstPush: spreadShape,
        quit: spreadShape,
      });
      expect(result.sequential.firstPush.n).toBe(report.plan.sequential);
      expect(result.churn).toEqual({ clientsPerSecond: expect.any(Number), quit: spreadShape });
      expect(result.churn.quit.n).toBe(report.plan.churn);
    }
    for (const result of report.results.slice(1)) {
      expect(result.steps).toHaveLength(report.plan.steps.length);
      for (const step of result.steps) {
        expect(step).toEqual({
          target: expect.any(Number),
          reached: step.target,
          secondsToReach: expect.any(Number),
          gapsWithin1500: expect.any(Number),
          marginalPssMiB: expect.any(Number),
          threadsPerWorker: expect.any(Number),
        });
      }
    }
    expect(report.checks).toHaveLength(7);
    for (const check of report.checks) expect(typeof check.met).toBe('boolean');
  }, 120000);
});
