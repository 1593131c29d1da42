import type { LimitName } from '../../shared/command-sandbox';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RefusalCode } from '../../shared/protocol/reasons';
import { WorkerMemory } from './worker-memory';

/**
 * The master's Prometheus metrics (GET /metrics). Counters and histograms are fed by
 * the master as events happen; gauges are set from its state; the workers' memory is
 * read from /proc at scrape time. A private registry, not prom-client's global one, so
 * that two servers in one process (tests) never collide and nothing a library
 * registers globally leaks into our output.
 */

/** Worker processes by the state the workers gauge shows (its `state` label). */
export type WorkerCounts = Record<'idle' | 'serving' | 'starting', number>;

/** The state the gauges show. */
export interface GaugeSnapshot {
  clients: number;
  channels: number;
  workers: WorkerCounts;
}

export interface MetricsOptions {
  /** The pids of every live worker (idle, starting or serving), read at scrape time. */
  workerPids: () => readonly number[];
  /** When given, read at every scrape and shown by the gauges (instead of setGauges). */
  snapshot?: () => GaugeSnapshot;
  /** prom-client's process and Node.js metrics of the master (default true). */
  defaultMetrics?: boolean;
  /** How long the workers' memory sum is reused between scrapes (default 1000 ms). */
  memoryMaxAgeMs?: number;
  /** The clock of that cache (tests). */
  now?: () => number;
}

const PREFIX = 'push_websocket_';

/**
 * prom-client's default metrics that break Prometheus naming rules (`promtool check
 * metrics`: a gauge must not end in `_total`). Each is the sum over the `type` label of
 * a metric kept (`nodejs_active_handles` etc.), so `sum()` gives it back.
 */
const NONCONFORMING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * How often the event-loop delay is sampled (prom-client's default is 10 ms). Hazard:
 * each sample is a timer that wakes the master, idle or not: at 10 ms, 100 wakes a
 * second, two epoll_pwait calls each; in churn the master made 17 epoll_pwait calls a
 * client, 11.9 at 100 ms (strace). A block of the loop as long as this is always seen; shorter ones are seen
 * when they cover a sample.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** A fork → ready start-up is about 150 ms on an idle 2-core box; seconds under load. */
const WORKER_START_BUCKETS = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5];
/** Upgrade → first frame: about 10 ms with a spare waiting, a start-up without. */
const FIRST_PUSH_BUCKETS = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * A close code as a label with bounded values: protocol codes (1000-2999) as they are,
 * application codes grouped (a client may pick any of 2000), 1006 when no close frame
 * came (the connection just dropped).
 */
export function closeCodeLabel(code: number | undefined): string {
  if (code === undefined) return '1006';
  if (!Number.isInteger(code)) return 'other';
  if (code >= 1000 && code <= 2999) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  return 'other';
}

/**
 * `upgraded` (a 101), `sse` (an event stream handed to its worker), or the HTTP status a
 * handshake (or event-stream request) was refused with.
 */
export function outcomeLabel(outcome: 'upgraded' | 'sse' | number): string {
  if (outcome === 'upgraded' || outcome === 'sse') return outcome;
  return Number.isInteger(outcome) && outcome >= 100 && outcome <= 599 ? String(outcome) : 'other';
}

export class Metrics {
  private readonly registry = new Registry();
  private readonly clients: Gauge;
  private readonly channels: Gauge;
  private readonly workers: Gauge<'state'>;
  private readonly connections: Counter<'outcome'>;
  private readonly refusals: Counter<'code'>;
  private readonly disconnects: Counter<'code' | 'side'>;
  private readonly workerStart: Histogram;
  private readonly firstPushDelay: Histogram;
  private readonly publishedMessages: Counter;
  private readonly sentFrames: Counter;
  private readonly backplaneUp: Gauge;
  private readonly hookRuns: Counter<'hook' | 'outcome'>;
  private readonly limitKills: Counter<'limit'>;
  /** Read once per scrape (render), when given. */
  private readonly snapshot: (() => GaugeSnapshot) | undefined;

  constructor(options: MetricsOptions) {
    const registers = [this.registry];
    const memory = new WorkerMemory(options.workerPids, options.memoryMaxAgeMs, options.now);
    this.snapshot = options.snapshot;

    this.clients = new Gauge({
      name: `${PREFIX}clients`,
      help: 'Clients connected now (each served by a worker process of its own).',
      registers,
    });
    this.channels = new Gauge({
      name: `${PREFIX}channels`,
      help: 'Channels with at least one client connected to this instance.',
      registers,
    });
    this.workers = new Gauge({
      name: `${PREFIX}workers`,
      help: 'Worker processes by state: idle (a ready spare), serving (a client), starting (forked, not ready yet).',
      labelNames: ['state'],
      registers,
    });
    this.connections = new Counter({
      name: `${PREFIX}connections_total`,
      help: 'WebSocket handshakes and event-stream requests by outcome: "upgraded", "sse" (a stream handed to its worker), or the HTTP status the request was refused with.',
      labelNames: ['outcome'],
      registers,
    });
    this.refusals = new Counter({
      name: `${PREFIX}refusals_total`,
      help: 'HTTP requests refused (handshakes and API calls), by stable code (docs/protocol.md: refusal codes).',
      labelNames: ['code'],
      registers,
    });
    this.disconnects = new Counter({
      name: `${PREFIX}disconnects_total`,
      help: 'Connections ended, by close code (1006: no close frame; 3xxx/4xxx: application codes) and by the side that closed first.',
      labelNames: ['code', 'side'],
      registers,
    });
    this.workerStart = new Histogram({
      name: `${PREFIX}worker_start_seconds`,
      help: 'Time from forking a worker to its ready message.',
      buckets: WORKER_START_BUCKETS,
      registers,
    });
    this.firstPushDelay = new Histogram({
      name: `${PREFIX}first_push_seconds`,
      help: "Time from a client's 101 upgrade to the first frame its worker sent.",
      buckets: FIRST_PUSH_BUCKETS,
      registers,
    });
    this.publishedMessages = new Counter({
      name: `${PREFIX}published_messages_total`,
      help: 'Messages published (POST /publish, or received from the backplane).',
      registers,
    });
    this.sentFrames = new Counter({
      name: `${PREFIX}frames_sent_total`,
      help: 'WebSocket data frames the workers sent to their clients.',
      registers,
    });
    this.backplaneUp = new Gauge({
      name: `${PREFIX}backplane_up`,
      help: 'Whether the publish backplane is connected (1) or not (0).',
      registers,
    });
    this.hookRuns = new Counter({
      name: `${PREFIX}hook_runs_total`,
      help: 'Lifecycle hook runs (--on-connect, --on-disconnect, --on-channel) by hook and outcome: ok, failed, timeout, dropped (queue full).',
      labelNames: ['hook', 'outcome'],
      registers,
    });
    this.limitKills = new Counter({
      name: `${PREFIX}limit_kills_total`,
      help: 'Clients whose command a sandbox limit ended (close 4005), by limit: cpu, fsize, nproc, memory.',
      labelNames: ['limit'],
      registers,
    });
    new Gauge({
      name: `${PREFIX}worker_memory_bytes`,
      help: 'Resident memory (RSS) of all worker processes, summed; pages they share count once per worker.',
      registers,
      async collect() {
        this.set(await memory.bytes());
      },
    });

    this.connections.inc({ outcome: 'upgraded' }, 0);
    this.connections.inc({ outcome: 'sse' }, 0);
    this.setGauges({ clients: 0, channels: 0, workers: { idle: 0, serving: 0, starting: 0 } });
    this.backplaneUp.set(0);

    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
      for (const name of NONCONFORMING_DEFAULTS) this.registry.removeSingleMetric(name);
    }
  }

  /** A handshake ended: `upgraded` (101 sent), or the status it was refused with. */
  connection(outcome: 'upgraded' | 'sse' | number): void {
    this.connections.inc({ outcome: outcomeLabel(outcome) });
  }

  /** A request was refused with this stable code (handshake or API). */
  refusal(code: RefusalCode): void {
    this.refusals.inc({ code });
  }

  /** A client's connection ended; `code` is the close code (undefined: no close frame). */
  disconnect(code: number | undefined, side: 'client' | 'server'): void {
    this.disconnects.inc({ code: closeCodeLabel(code), side });
  }

  /** A worker reported ready `seconds` after its fork. */
  workerStarted(seconds: number): void {
    this.workerStart.observe(seconds);
  }

  /** A client's first frame was sent `seconds` after its 101. */
  firstPush(seconds: number): void {
    this.firstPushDelay.observe(seconds);
  }

  /** A sandbox limit ended a client's command. */
  limitKill(limit: LimitName): void {
    this.limitKills.inc({ limit });
  }

  published(count = 1): void {
    this.publishedMessages.inc(count);
  }

  framesSent(count = 1): void {
    this.sentFrames.inc(count);
  }

  /** A lifecycle hook ran (or was dropped). */
  hookRun(hook: 'connect' | 'disconnect' | 'channel', outcome: string): void {
    this.hookRuns.inc({ hook, outcome });
  }

  setBackplaneUp(up: boolean): void {
    this.backplaneUp.set(up ? 1 : 0);
  }

  setGauges(snapshot: GaugeSnapshot): void {
    this.clients.set(snapshot.clients);
    this.channels.set(snapshot.channels);
    this.setWorkers(snapshot.workers);
  }

  private setWorkers(workers: WorkerCounts): void {
    for (const state of ['idle', 'serving', 'starting'] as const) {
      this.workers.set({ state }, workers[state]);
    }
  }

  /** The Prometheus text exposition, and the Content-Type to send it with. */
  async render(): Promise<{ contentType: string; body: string }> {
    if (this.snapshot !== undefined) this.setGauges(this.snapshot());
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
