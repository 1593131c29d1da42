import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Report } from './table';
import { table } from './table';

/**
 * The bench's pictures: Vega-Lite specs rendered to SVG in Node (vega's headless
 * renderer, no browser), one file per plot plus an index.html that shows them with
 * the printed summary. Plots: first-push latency distributions of each server (paced
 * and in bursts), PSS per client and on-schedule share against clients, fan-out last
 * delivery, the reconnect curve, and start-up CPU.
 */

interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (
    runtime: unknown,
    options: { renderer: 'none' },
  ) => { toSVG(): Promise<string>; finalize(): void };
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

/**
 * vega and vega-lite are ES modules with top-level await, which require() cannot load:
 * a real dynamic import, kept from TypeScript's CommonJS output (it would become require).
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the one way to keep import()
const importModule = new Function('specifier', 'return import(specifier)') as <T>(
  specifier: string,
) => Promise<T>;

type Row = Record<string, string | number>;

const WIDTH = 420;
const HEIGHT = 240;

/** Cumulative share at each latency: the distribution as a line (an ECDF). */
function ecdf(values: number[], fields: Row): Row[] {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.map((ms, i) => ({
    ...fields,
    ms: Math.max(ms, 0.1),
    share: (i + 1) / sorted.length,
  }));
}

function specs(report: Report): Record<string, unknown> {
  const latency: Row[] = [];
  for (const r of report.results) {
    latency.push(
      ...ecdf(r.sequential.firstPushes, {
        server: r.name,
        phase: `paced, one per ${report.plan.pacedPeriodMs} ms`,
      }),
    );
    if (r.bursts) {
      latency.push(
        ...ecdf(r.bursts.firstPushes, {
          server: r.name,
          phase: `bursts of ${report.plan.burstClients} in ${report.plan.burstSpreadMs} ms after idle`,
        }),
      );
    }
  }
  const steps: Row[] = [];
  const fanout: Row[] = [];
  for (const r of report.results) {
    for (const s of r.steps) {
      steps.push({
        server: r.name,
        clients: s.reached,
        pss: s.marginalPssMiB,
        onSchedule: s.gapsWithin1500 * 100,
      });
      if (s.fanout) {
        fanout.push({
          server: r.name,
          clients: `${s.target} clients`,
          figure: 'p50',
          ms: s.fanout.lastDelivery.p50,
        });
        fanout.push({
          server: r.name,
          clients: `${s.target} clients`,
          figure: 'max',
          ms: s.fanout.lastDelivery.max,
        });
      }
    }
  }
  const rc = report.reconnect;
  const churn = report.results[1]?.churn.clientsPerSecond ?? 1;
  const bound = (1.25 * rc.clients) / churn;
  const startup: Row[] = [
    {
      what: 'node -e 0 with NODE_EXTRA_CA_CERTS',
      cpuMs: report.bareNodeWithCaCerts.cpuSeconds * 1000,
    },
    { what: 'node -e 0', cpuMs: report.bareNode.cpuSeconds * 1000 },
    {
      what: 'our worker with NODE_EXTRA_CA_CERTS',
      cpuMs: report.workerWithCaCerts.cpuSeconds * 1000,
    },
    { what: 'our worker (as forked now)', cpuMs: report.worker.cpuSeconds * 1000 },
    { what: 'floor worker', cpuMs: report.floorWorker.cpuSeconds * 1000 },
  ];
  // One colour per server in every plot, whichever servers a plot has.
  const color = {
    field: 'server',
    type: 'nominal',
    scale: { domain: report.results.map((r) => r.name) },
    legend: { orient: 'bottom', columns: 2, labelLimit: 400, title: null },
  };
  return {
    'first-push': {
      title: 'Connect → first push: share of clients served within x ms',
      data: { values: latency },
      facet: { column: { field: 'phase', type: 'nominal', title: null } },
      spec: {
        width: WIDTH,
        height: HEIGHT,
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms (log scale)' },
          y: { field: 'share', type: 'quantitative', axis: { format: '%' }, title: 'clients' },
          color,
        },
      },
    },
    steps: {
      title: 'Held clients: memory and pushes on schedule',
      data: { values: steps },
      hconcat: [
        {
          width: WIDTH,
          height: HEIGHT,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'clients', type: 'quantitative', axis: { format: 'd' } },
            y: { field: 'pss', type: 'quantitative', title: 'marginal PSS per client (MiB)' },
            color,
          },
        },
        {
          width: WIDTH,
          height: HEIGHT,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'clients', type: 'quantitative', axis: { format: 'd' } },
            y: {
              field: 'onSchedule',
              type: 'quantitative',
              title: 'push gaps ≤ 1.5 s (%)',
              scale: { domain: [90, 100] },
              axis: { format: '.1f' },
            },
            color,
          },
        },
      ],
    },
    fanout: {
      title: 'POST /publish to every client: time to the last delivery',
      data: { values: fanout },
      width: 160,
      height: HEIGHT,
      mark: 'bar',
      encoding: {
        column: { field: 'clients', type: 'nominal', title: null },
        x: { field: 'server', type: 'nominal', axis: null },
        xOffset: { field: 'figure' },
        y: { field: 'ms', type: 'quantitative', title: 'ms (p50 and max over broadcasts)' },
        color,
        opacity: {
          field: 'figure',
          type: 'ordinal',
          sort: ['p50', 'max'],
          scale: { domain: ['p50', 'max'], range: [1, 0.45] },
          title: 'last delivery',
        },
      },
    },
    reconnect: {
      title: `Mass reconnect: ${rc.clients} clients after a restart (SIGTERM, start again)`,
      width: WIDTH * 1.5,
      height: HEIGHT,
      layer: [
        {
          data: { values: rc.curve },
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x: { field: 'seconds', type: 'quantitative', title: 's since SIGTERM' },
            y: { field: 'back', type: 'quantitative', title: 'clients with a push again' },
          },
        },
        {
          data: {
            values: [
              { seconds: bound, label: 'target: 1.25 × clients / churn' },
              { seconds: rc.startMs / 1000, label: 'new master ready' },
            ],
          },
          mark: { type: 'rule', strokeDash: [4, 4] },
          encoding: {
            x: { field: 'seconds', type: 'quantitative' },
            color: {
              field: 'label',
              type: 'nominal',
              legend: { orient: 'bottom', labelLimit: 400 },
              title: null,
            },
          },
        },
      ],
    },
    startup: {
      title: 'CPU per start-up (ms)',
      data: { values: startup },
      width: WIDTH,
      mark: 'bar',
      encoding: {
        y: { field: 'what', type: 'nominal', sort: null, title: null },
        x: { field: 'cpuMs', type: 'quantitative', title: 'CPU ms' },
      },
    },
  };
}

/** Writes DIR/NAME.svg for each plot and DIR/index.html; returns the files written. */
export async function writeReport(report: Report, dir: string): Promise<string[]> {
  const vega = await importModule<VegaModule>('vega');
  const vegaLite = await importModule<VegaLiteModule>('vega-lite');
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const images: string[] = [];
  for (const [name, spec] of Object.entries(specs(report))) {
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const file = path.join(dir, `${name}.svg`);
    writeFileSync(file, svg);
    written.push(file);
    images.push(`<p><img src="${name}.svg" alt="${name}"></p>`);
  }
  const escape = (text: string): string =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const html =
    `<!doctype html><meta charset="utf-8"><title>push-websocket bench</title>\n` +
    `<body style="font-family: sans-serif">\n<h1>push-websocket bench</h1>\n${images.join('\n')}\n` +
    `<pre>${escape(table(report))}</pre>\n</body>\n`;
  const index = path.join(dir, 'index.html');
  writeFileSync(index, html);
  written.push(index);
  return written;
}
