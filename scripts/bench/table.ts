import type { Check, ServerResult } from './checks';
import { hotUpgradeLine, type HotUpgradeResult } from './hot-upgrade';
import type { Plan } from './plan';
import type { Reconnect } from './reconnect';
import type { StartCost, WorkerCost } from './startup-cost';
import type { Spread } from './stats';

/** The bench's printed summary: start-up costs, one table of figures, the targets. */
export interface Report {
  machine: string;
  quick: boolean;
  plan: Plan;
  load: { before: number[]; after: number[] };
  /** Node flags of our workers and of the floor's. */
  flags: { worker: string[]; floor: string[] };
  bareNode: StartCost;
  bareNodeWithCaCerts: StartCost;
  worker: WorkerCost;
  workerWithCaCerts: WorkerCost;
  floorWorker: WorkerCost;
  results: ServerResult[];
  reconnect: Reconnect;
  hotUpgrade: HotUpgradeResult;
  checks: Check[];
}

function fmt(s: Spread | undefined): string {
  return s === undefined ? '-' : `${s.p50} / ${s.p90} / ${s.p99}`;
}

/** A markdown table; the first row is the header. */
export function markdown(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map(
    (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`,
  );
  lines.splice(1, 0, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  return lines.join('\n');
}

function workerLine(label: string, w: WorkerCost): string {
  return `${label}: fork → ready ${fmt(w.forkToReady)} ms, ${w.cpuSeconds} CPU s, idle PSS alone ${w.idlePssMiB} MiB, ${w.threads} threads`;
}

export function table(report: Report): string {
  const { worker: workerFlags, floor: floorFlags } = report.flags;
  const { results, reconnect: r } = report;
  const out: string[] = [];
  out.push(`\nMachine: ${report.machine}. ${report.quick ? 'Quick' : 'Full'} run.`);
  out.push(
    `Load average (1, 5, 15 min) before: ${report.load.before.join(', ')}; after: ${report.load.after.join(', ')}.`,
  );
  const b = report.bareNode;
  const bw = report.bareNodeWithCaCerts;
  out.push(
    `Bare \`node -e 0\`: wall p50 ${b.wallMs.p50} ms, ${b.cpuSeconds} CPU s per start; with NODE_EXTRA_CA_CERTS: ${bw.wallMs.p50} ms, ${bw.cpuSeconds} CPU s.`,
  );
  out.push(`(e) ${workerLine(`Our worker (flags ${workerFlags.join(' ')})`, report.worker)}.`);
  out.push(`    ${workerLine('The same with NODE_EXTRA_CA_CERTS', report.workerWithCaCerts)}.`);
  out.push(
    `    ${workerLine(`Floor worker (flags ${floorFlags.join(' ')})`, report.floorWorker)}.\n`,
  );

  const rows: string[][] = [['figure (ms: p50 / p90 / p99)', ...results.map((x) => x.name)]];
  const row = (label: string, cell: (x: ServerResult) => string): void => {
    rows.push([label, ...results.map(cell)]);
  };
  const period = report.plan.pacedPeriodMs;
  row(`(a) connect → 101, one client per ${period} ms`, (x) => fmt(x.sequential.upgrade));
  row(`(a) connect → first push, one per ${period} ms`, (x) => fmt(x.sequential.firstPush));
  row('(a) handshakes overlapping a fork in the master', (x) =>
    x.forkWaits ? `${x.forkWaits.behindFork} of ${x.forkWaits.handshakes}` : '-',
  );
  row('(a) fork() blocks the master (ms)', (x) => fmt(x.forkWaits?.forkBlockMs));
  row('(a) event-loop delay, worst p99 / max (ms)', (x) =>
    x.forkWaits ? `${x.forkWaits.loopDelayP99Ms} / ${x.forkWaits.loopDelayMaxMs}` : '-',
  );
  row('(b) churn, clients/s (8 at a time)', (x) => String(x.churn.clientsPerSecond));
  row('(b) churn: CPU per client, server + workers (ms)', (x) =>
    Number.isNaN(x.churn.cpuMs.server) ? '-' : `${x.churn.cpuMs.server} + ${x.churn.cpuMs.workers}`,
  );
  row('(d) quit → TCP close, paced', (x) => fmt(x.sequential.quit));
  row('(d) quit → TCP close, churn', (x) => fmt(x.churn.quit));
  const p = report.plan;
  const tail = (s: Spread | undefined): string =>
    s === undefined ? '-' : `${s.p50} / ${s.p99} / ${s.max}`;
  row(`(f) burst of ${p.burstClients} in ${p.burstSpreadMs} ms: first push p50 / p99 / max`, (x) =>
    tail(x.bursts?.firstPush),
  );
  row(
    `(f) burst of ${p.burstClients} at once (${p.burstsAtOnce}): first push p50 / p99 / max`,
    (x) => tail(x.burstsAtOnce?.firstPush),
  );
  row('(f) the first burst (each server as it starts)', (x) => tail(x.bursts?.first));
  row(`(f) the ${p.bursts - 1} later bursts (each after the one before)`, (x) =>
    tail(x.bursts?.later),
  );
  row('idle workers, mean / max (sampled every 0.5 s)', (x) =>
    x.idleWorkers ? `${x.idleWorkers.mean} / ${x.idleWorkers.max}` : '-',
  );
  for (const [index, n] of p.steps.entries()) {
    row(`(c) ${n} clients: reached, s, gaps ≤ 1.5 s, MiB/client, threads`, (x) => {
      const s = x.steps[index];
      return s === undefined
        ? '-'
        : `${s.reached}, ${s.secondsToReach} s, ${Math.round(s.gapsWithin1500 * 1000) / 10} %, ${s.marginalPssMiB}, ${s.threadsPerWorker}`;
    });
    if (p.fanoutAt.includes(n)) {
      row(`(g) publish to ${n}: last delivery p50 / max; all p50`, (x) => {
        const f = x.steps[index]?.fanout;
        return f === undefined
          ? '-'
          : `${f.lastDelivery.p50} / ${f.lastDelivery.max}; ${f.delivery.p50}`;
      });
      row(`(g) publish to ${n}: the first broadcast's last delivery; later p50 / max`, (x) => {
        const f = x.steps[index]?.fanout;
        return f === undefined ? '-' : `${f.first}; ${f.later.p50} / ${f.later.max}`;
      });
    }
  }
  row('master RSS peak (MiB)', (x) =>
    x.masterPeakRssMiB === undefined ? '-' : String(x.masterPeakRssMiB),
  );
  out.push(markdown(rows));
  out.push(
    `\n(h) Mass reconnect (${results[1]?.name}): ${r.clients} clients, restart (SIGTERM, start again on the same port): ` +
      `old master gone after ${r.stopMs} ms (${r.killedAtStop} workers killed after the shutdown grace), new one ready after ${r.startMs} ms; all back after ${r.allBackMs ?? '-'} ms; ` +
      `${r.notBack} not back; ${r.attempts} attempts, ${r.refusals} refused; master RSS peak ${r.masterPeakRssMiB.before} MiB before, ${r.masterPeakRssMiB.after} MiB after (seed ${r.seed}).`,
  );
  out.push(`\n${hotUpgradeLine(report.hotUpgrade, r)}`);
  out.push('\nTargets:');
  for (const check of report.checks) {
    out.push(`- [${check.met ? 'met' : 'MISSED'}] ${check.target}: ${check.value}`);
  }
  return out.join('\n');
}
