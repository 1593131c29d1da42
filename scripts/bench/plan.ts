/** How much of each figure a run measures: a full run, or --quick (npm test's smoke run). */
export interface Plan {
  /** Paced arrivals: clients one after another, one every `pacedPeriodMs`. */
  sequential: number;
  pacedPeriodMs: number;
  /** Churn: connect, first push, quit, CHURN_CONCURRENCY at a time, in rounds taken in turns. */
  churn: number;
  churnRounds: number;
  /** Bursts after idle: `burstClients` within `burstSpreadMs`, `bursts` times. */
  bursts: number;
  burstClients: number;
  burstSpreadMs: number;
  /** Then `burstsAtOnce` bursts of `burstClients` all at once (no spread). */
  burstsAtOnce: number;
  /** Concurrency steps (clients held), and the push window measured at each. */
  steps: number[];
  windowMs: number;
  stepCapMs: number;
  /** Steps at which broadcasts are timed, and how many broadcasts each. */
  fanoutAt: number[];
  broadcasts: number;
  /** Workers sampled for PSS at a step (the rest are estimated from them). */
  pssSample: number;
  /** Mass reconnect: clients connected when the server restarts. */
  reconnectClients: number;
  reconnectCapMs: number;
  /** Hot upgrade (hot-upgrade.ts): clients connected under a publisher when SIGUSR2 comes. */
  hotUpgradeClients: number;
  /** Quiet time before the paced clients and before each burst (an idle server). */
  quietMs: number;
  /** Fan-out across instances: clients on one instance, two through Redis, and ws. */
  instanceSizes: number[];
  /** Start-up costs: forks of each worker kind, bare `node -e 0` runs. */
  forks: number;
  bare: number;
  /** SSE beside WebSocket: clients of each kind, in turns, `ssePauseMs` apart. */
  sseClients: number;
  ssePauseMs: number;
  /** The first broadcast to fresh clients (--no-demo) beside the relay, in turns. */
  freshClients: number;
  freshRounds: number;
}

export const QUICK: Plan = {
  sequential: 10,
  pacedPeriodMs: 200,
  churn: 24, // less than before the bursts at once came, to keep the quick run as long
  churnRounds: 2,
  bursts: 2,
  burstClients: 20,
  burstSpreadMs: 100,
  burstsAtOnce: 1,
  steps: [40],
  windowMs: 2500,
  stepCapMs: 30000,
  fanoutAt: [40],
  broadcasts: 3,
  pssSample: 20,
  reconnectClients: 30,
  reconnectCapMs: 30000,
  hotUpgradeClients: 20,
  quietMs: 500,
  instanceSizes: [20],
  forks: 4,
  bare: 4,
  sseClients: 4,
  ssePauseMs: 100,
  freshClients: 10,
  freshRounds: 1,
};

export const FULL: Plan = {
  sequential: 200,
  pacedPeriodMs: 200,
  churn: 500,
  churnRounds: 5,
  bursts: 5,
  burstClients: 20,
  burstSpreadMs: 100,
  burstsAtOnce: 3,
  steps: [100, 500, 1000, 2000, 2500],
  windowMs: 6000,
  stepCapMs: 240000,
  fanoutAt: [500, 1000],
  broadcasts: 20,
  pssSample: 100,
  reconnectClients: 1000,
  reconnectCapMs: 240000,
  hotUpgradeClients: 1000,
  quietMs: 2000,
  instanceSizes: [100, 500, 1000],
  forks: 20,
  bare: 20,
  sseClients: 40,
  ssePauseMs: 300,
  freshClients: 500,
  freshRounds: 2,
};

export const CHURN_CONCURRENCY = 8;
export const OPEN_CONCURRENCY = 8;
/** The steps stop opening clients when the machine has less memory than this left. */
export const MEMORY_FLOOR_MIB = 1536;
