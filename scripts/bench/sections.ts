import { findExecutable } from '../../src/master/cli/find-executable';
import type { Churn, Paced } from './arrivals';
import type { Check, ServerResult } from './checks';
import type { ServerRole } from './servers';
import type { StartCost, WorkerCost } from './startup-cost';
import { spread } from './stats';

/**
 * `npm run bench -- --only SECTION,...`: a part of the bench, to measure one figure in a
 * few minutes (the full run takes 12-15). A section left out is not measured: its
 * figures are NaN here, and the targets that need it are not printed.
 */
export const SECTIONS = [
  'startup', // (e) node -e 0 and a worker alone
  'bursts', // (f) bursts after idle, spread and at once
  'churn', // (b) connect, first push, quit, 8 at a time
  'paced', // (a) one client every 200 ms
  'steps', // (c) and (g): clients held, PSS, broadcasts
  'reconnect', // (h) mass reconnect after a restart
  'upgrade', // the hot upgrade
  'instances', // fan-out across instances through Redis
  'sse', // Server-Sent Events beside WebSockets
  'fresh', // the first broadcast to fresh clients, beside the relay
] as const;
export type Section = (typeof SECTIONS)[number];

/** The sections of `--only` (every one without it); throws on an unknown name. */
export function sectionsOf(only: string | undefined): Set<Section> {
  if (only === undefined) return new Set(SECTIONS);
  const chosen = only.split(',').filter((name) => name !== '');
  for (const name of chosen) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown section ${name} (sections: ${SECTIONS.join(', ')})`);
    }
  }
  return new Set(chosen as Section[]);
}

/** The programs a section starts besides Node, and the Debian package of each. */
const PROGRAMS: Partial<Record<Section, { path: string; from: string }[]>> = {
  instances: [{ path: '/usr/bin/redis-server', from: 'redis-server' }],
};

/**
 * What this run's sections need and this machine lacks; checked before anything runs,
 * so that a missing program stops the run at once with its name rather than half an
 * hour in.
 */
export function missingPrograms(
  run: Set<Section>,
  programs = PROGRAMS,
): { section: Section; line: string }[] {
  const missing: { section: Section; line: string }[] = [];
  for (const section of run) {
    for (const program of programs[section] ?? []) {
      if (findExecutable(program.path) !== undefined) continue;
      const line = `the ${section} section needs ${program.path} (Debian package ${program.from})`;
      missing.push({ section, line });
    }
  }
  return missing;
}

/** A figure not measured in this run. */
const none = spread([]);
export const UNMEASURED_CHURN: Churn = {
  clientsPerSecond: NaN,
  quit: none,
  cpuMs: { server: NaN, workers: NaN },
};
export const UNMEASURED_PACED: Paced = {
  upgrade: none,
  firstPush: none,
  quit: none,
  handshakes: [],
  firstPushes: [],
  quits: [],
};
export const UNMEASURED_START: StartCost = { wallMs: none, cpuSeconds: NaN };
export const UNMEASURED_WORKER: WorkerCost = {
  forkToReady: none,
  idlePssMiB: NaN,
  threads: NaN,
  cpuSeconds: NaN,
};

/** A server of the comparison that this run did not start (`--servers`). */
export function unmeasuredServer(role: ServerRole): ServerResult {
  return {
    name: role,
    role,
    sequential: UNMEASURED_PACED,
    churn: UNMEASURED_CHURN,
    steps: [],
  };
}

/**
 * The targets a partial run can judge: those whose sections all ran, measured on
 * servers that ran (a figure of a server left out reads NaN).
 */
export function judged(list: Check[], ran: Set<Section>): Check[] {
  return list.filter(
    (check) =>
      (check.needs ?? []).every((section) => ran.has(section)) && !check.value.includes('NaN'),
  );
}

/** A partial run's summary: what ran, per server, and its targets. */
export function partialTable(
  results: ServerResult[],
  list: Check[],
  extra: { load: number[][]; lines: string[] },
): string {
  const out = [
    `\nPartial run. Load average (1, 5, 15 min) before: ${extra.load[0].join(', ')}; after: ${extra.load[1].join(', ')}.`,
    ...extra.lines,
  ];
  const ms = (s: { p50: number; p90: number; p99: number }): string =>
    `${s.p50} / ${s.p90} / ${s.p99}`;
  for (const r of results) {
    const parts: string[] = [];
    if (!Number.isNaN(r.sequential.firstPush.p50)) {
      parts.push(
        `paced: connect → 101 ${ms(r.sequential.upgrade)}, first push ${ms(r.sequential.firstPush)}, quit → close ${ms(r.sequential.quit)} ms`,
      );
    }
    if (!Number.isNaN(r.churn.clientsPerSecond)) {
      parts.push(
        `churn: ${r.churn.clientsPerSecond} clients/s (CPU per client ${r.churn.cpuMs.server} + ${r.churn.cpuMs.workers} ms), quit → close ${ms(r.churn.quit)} ms`,
      );
    }
    if (r.bursts !== undefined) parts.push(`bursts: first push ${ms(r.bursts.firstPush)} ms`);
    if (parts.length > 0) out.push(`${r.name}: ${parts.join('; ')}`);
  }
  out.push('\nTargets (only those this run measured):');
  for (const check of list) {
    out.push(`- [${check.met ? 'met' : 'MISSED'}] ${check.target}: ${check.value}`);
  }
  return out.join('\n');
}
