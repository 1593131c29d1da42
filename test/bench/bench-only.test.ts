import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server';

/**
 * `npm run bench -- --only SECTIONS --servers ROLES`: a part of the bench, and only the
 * targets it measured. Times are checked by no test (they belong to the benchmark).
 */
describe('npm run bench -- --only', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-bench-only-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bench = (args: string[]) =>
    promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'dist/scripts/bench/bench.js'), ...args],
      {
        cwd: ROOT,
        timeout: 150_000,
      },
    );

  test('churn and paced alone print their targets against the floor, and no other', async () => {
    const file = path.join(dir, 'only.json');
    const { stdout } = await bench([
      '--quick',
      '--only',
      'churn,paced',
      '--servers',
      'zero,default,floor',
      '--json',
      file,
    ]);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.only).toEqual(['churn', 'paced']);
    expect(report.results.map((r: { role: string }) => r.role)).toEqual([
      'zero',
      'default',
      'floor',
    ]);
    for (const r of report.results) {
      expect(r.churn.clientsPerSecond).toBeGreaterThan(0);
      expect(r.sequential.firstPush.n).toBeGreaterThan(0);
    }
    const targets = report.checks.map((c: { target: string }) => c.target);
    // Churn: each of ours against the floor of the same run, the worst deciding.
    const churn = report.checks.find((c: { target: string }) => c.target.startsWith('churn'));
    expect(churn.value).toMatch(
      /^[\d.]+ \/ [\d.]+ = [\d.]+, [\d.]+ \/ [\d.]+ = [\d.]+; CPU per client, master \+ workers: [\d.]+ \+ [\d.]+, [\d.]+ \+ [\d.]+, [\d.]+ \+ [\d.]+ ms \(floor last\)$/,
    );
    expect(targets).toContain('first push p50 with 0 spares ≤ 1.1 × floor (paced)');
    // Nothing from a section that did not run, nor from a server left out (ws).
    expect(targets.some((t: string) => /PSS|fork → ready|burst|reconnect|fan-out/.test(t))).toBe(
      false,
    );
    expect(targets.some((t: string) => t.includes('ws reference'))).toBe(false);
    for (const check of report.checks) {
      expect(stdout).toContain(`] ${check.target}: ${check.value}`);
    }
  }, 160_000);

  test('an unknown section is refused with one line naming it', async () => {
    await expect(bench(['--quick', '--only', 'churn,nonsense'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--only: unknown section nonsense/),
    });
  }, 30_000);
});
