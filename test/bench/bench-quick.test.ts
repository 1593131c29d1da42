import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server';

/**
 * A smoke test of `npm run bench -- --quick`: it runs to the end and its report has
 * every figure. Times are checked by no test (they belong to the benchmark itself).
 */
const spreadShape = {
  p50: expect.any(Number),
  p90: expect.any(Number),
  p99: expect.any(Number),
  max: expect.any(Number),
  n: expect.any(Number),
};

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('prints the table and writes a JSON report and plots of the right shape', async () => {
    const file = path.join(dir, 'report.json');
    const plots = path.join(dir, 'plots');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(ROOT, 'dist/scripts/bench/bench.js'),
        '--quick',
        '--json',
        file,
        '--report',
        plots,
      ],
      { cwd: ROOT, timeout: 270_000 },
    );
    expect(stdout).toMatch(/\| \(a\) connect → first push/);
    expect(stdout).toMatch(/Targets:/);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.quick).toBe(true);
    const startCost = { wallMs: spreadShape, cpuSeconds: expect.any(Number) };
    expect(report.bareNode).toEqual(startCost);
    expect(report.bareNodeWithCaCerts).toEqual(startCost);
    const workerShape = {
      forkToReady: spreadShape,
      idlePssMiB: expect.any(Number),
      threads: expect.any(Number),
      cpuSeconds: expect.any(Number),
    };
    expect(report.worker).toEqual(workerShape);
    expect(report.workerWithCaCerts).toEqual(workerShape);
    expect(report.floorWorker).toEqual(workerShape);
    expect(report.results.map((r: { name: string }) => r.name)).toEqual([
      'push-websocket --spare-workers 0',
      'push-websocket (default spares)',
      'push-websocket (adaptive 2:12)',
      'floor (minimal fork per client)',
      'ws reference (one process)',
    ]);
    for (const result of report.results) {
      expect(result.sequential).toMatchObject({
        upgrade: spreadShape,
        firstPush: spreadShape,
        quit: spreadShape,
      });
      expect(result.sequential.firstPush.n).toBe(report.plan.sequential);
      expect(result.sequential.firstPushes).toHaveLength(report.plan.sequential);
      expect(result.churn).toEqual({
        clientsPerSecond: expect.any(Number),
        quit: spreadShape,
        cpuMs: { server: expect.any(Number), workers: expect.any(Number) },
      });

      expect(result.churn.quit.n).toBe(report.plan.churn);
    }
    const [zero, spares, adaptive, floor, reference] = report.results;
    // Every forking server's churn took CPU in the master and in its reaped workers.
    for (const forking of [zero, spares, adaptive, floor]) {
      expect(forking.churn.cpuMs.server).toBeGreaterThan(0);
      expect(forking.churn.cpuMs.workers).toBeGreaterThan(0);
    }
    // Our masters run with the probe: forks and handshakes lined up.
    for (const ours of [zero, spares, adaptive]) {
      expect(ours.forkWaits).toMatchObject({
        forks: expect.any(Number),
        handshakes: report.plan.sequential,
        behindFork: expect.any(Number),
        loopDelayMaxMs: expect.any(Number),
      });
      expect(ours.masterPeakRssMiB).toBeGreaterThan(0);
    }
    const { bursts, burstClients } = report.plan;
    for (const result of [spares, adaptive, floor, reference]) {
      // Every burst's clients, the first burst alone, and the ones after it.
      expect(result.bursts).toMatchObject({
        firstPush: { ...spreadShape, n: bursts * burstClients },
        perBurst: burstClients,
        first: { ...spreadShape, n: burstClients },
        later: { ...spreadShape, n: (bursts - 1) * burstClients },
      });
      expect(result.bursts.firstPushes).toHaveLength(bursts * burstClients);
    }
    for (const ours of [spares, adaptive]) {
      expect(ours.idleWorkers).toEqual({
        mean: expect.any(Number),
        max: expect.any(Number),
        samples: expect.any(Number),
      });
    }
    expect(stdout).toMatch(/\| \(f\) the first burst/);
    expect(stdout).toMatch(/\| \(f\) the 1 later bursts/);
    expect(
      report.checks.find((c: { target: string }) => c.target.startsWith('burst after idle')).target,
    ).toContain('adaptive 2:12');
    for (const result of [spares, floor, reference]) {
      expect(result.steps).toHaveLength(report.plan.steps.length);
      for (const step of result.steps) {
        expect(step).toMatchObject({
          target: expect.any(Number),
          reached: step.target,
          secondsToReach: expect.any(Number),
          gapsWithin1500: expect.any(Number),
          marginalPssMiB: expect.any(Number),
          pssSampled: expect.any(Number),
          threadsPerWorker: expect.any(Number),
        });
        if (report.plan.fanoutAt.includes(step.target)) {
          expect(step.fanout).toMatchObject({
            broadcasts: report.plan.broadcasts,
            lastDelivery: spreadShape,
            missing: 0,
          });
        }
      }
    }
    expect(report.reconnect).toMatchObject({
      clients: report.plan.reconnectClients,
      allBackMs: expect.any(Number),
      notBack: 0,
      masterPeakRssMiB: { before: expect.any(Number), after: expect.any(Number) },
    });
    expect(report.reconnect.curve.at(-1).back).toBe(report.plan.reconnectClients);
    // The hot upgrade of the same server, beside (h), its plain restart.
    expect(report.hotUpgrade).toEqual({
      clients: report.plan.hotUpgradeClients,
      disconnected: expect.any(Number),
      published: expect.any(Number),
      lost: expect.any(Number),
      duplicated: expect.any(Number),
      longestNoAcceptMs: expect.any(Number),
      longestPublishGapMs: expect.any(Number),
      baselineGapMs: expect.any(Number),
      baselineNoAcceptMs: expect.any(Number),
      baselinePerSecond: expect.any(Number),
      everyMs: 50,
      upgradeMs: expect.any(Number),
      retried: expect.any(Number),
    });
    expect(report.hotUpgrade.published).toBeGreaterThan(0);
    expect(stdout).toMatch(/\(i\) Hot upgrade \(SIGUSR2\), \d+ clients.*plain restart \(h\)/);
    const upgradeTargets = report.checks.filter((c: { target: string }) =>
      c.target.startsWith('hot upgrade'),
    );
    expect(upgradeTargets).toHaveLength(4);
    for (const check of upgradeTargets) {
      expect(stdout).toContain(`] ${check.target}: ${check.value}`);
    }
    expect(report.checks.length).toBeGreaterThanOrEqual(17);
    expect(report.instances).toHaveLength(1);
    for (const setup of ['one', 'redis', 'ws']) {
      expect(report.instances[0][setup]).toMatchObject({
        p50: expect.any(Number),
        max: expect.any(Number),
      });
    }
    // SSE beside WebSocket: the same count of each, every one timed, every worker measured.
    expect(stdout).toMatch(
      /SSE beside WebSocket .*\n\| transport .*\n.*\n\| WebSocket .*\n\| SSE /,
    );
    for (const kind of ['websocket', 'sse']) {
      expect(report.sse[kind]).toEqual({
        firstPush: { ...spreadShape, n: report.plan.sseClients },
        pssMiB: expect.any(Number),
        workers: report.plan.sseClients,
      });
      expect(report.sse[kind].pssMiB).toBeGreaterThan(0);
    }
    // The first broadcast to fresh clients, ours beside the relay, every broadcast timed.
    expect(report.freshBroadcast.rounds).toHaveLength(report.plan.freshRounds);
    for (const round of report.freshBroadcast.rounds) {
      for (const kind of ['ours', 'relay']) {
        expect(round[kind]).toEqual({
          kind,
          first: expect.any(Number),
          laterP50: expect.any(Number),
          worst: expect.any(Number),
          missing: 0,
        });
        expect(round[kind].worst).toBeGreaterThanOrEqual(round[kind].first);
      }
    }
    const fresh = report.checks.filter((c: { target: string }) => c.target.includes('fresh'));
    expect(fresh).toHaveLength(1);
    expect(stdout).toContain(`] ${fresh[0].target}: ${fresh[0].value}`);
    for (const check of report.checks) expect(typeof check.met).toBe('boolean');
    for (const plot of ['first-push', 'steps', 'fanout', 'reconnect', 'startup']) {
      expect(readFileSync(path.join(plots, `${plot}.svg`), 'utf8')).toMatch(/^<svg/);
    }
  }, 290_000);
});
