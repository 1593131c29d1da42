import { APP_CLOSE_REASON, AppCloseCode } from '../src/shared/protocol/close-codes';

/** A lifetime's jitter: the close comes up to this share of --max-lifetime later. */
export const LIFETIME_JITTER = 0.1;

/**
 * When a client that connected now is closed for its --max-lifetime: the lifetime plus
 * up to 10% of it, drawn per client, so that a cohort that connected together (after a
 * restart) does not come back together. Pure.
 */
export function lifetimeMs(maxLifetimeSeconds: number, random: () => number): number {
  return maxLifetimeSeconds * 1000 * (1 + LIFETIME_JITTER * random());
}

/** setTimeout's longest delay (about 24.8 days): a later end is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LifetimeOptions {
  /** --max-lifetime in seconds; 0: none. */
  maxLifetime: number;
  /** --idle-timeout in seconds; 0: none. */
  idleTimeout: number;
  /** Closes the client with this code and reason. */
  close(code: number, reason: string): void;
  log(message: string): void;
  random?: () => number;
}

/**
 * A client's two clocks in its worker: --max-lifetime (4003) from its hand-off, and
 * --idle-timeout (4004) from its last data message, either way. Pings and pongs are
 * not data (every open connection has them): a client that only answers pings is idle.
 * `touch` is called per data message, so it only notes the time; the timer checks it.
 */
export class Lifetimes {
  private lastData = Date.now();
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly options: LifetimeOptions) {}

  start(): void {
    const { maxLifetime, idleTimeout } = this.options;
    if (maxLifetime > 0) {
      const endAt = Date.now() + lifetimeMs(maxLifetime, this.options.random ?? Math.random);
      this.lifetimeAt(endAt);
    }
    if (idleTimeout > 0) this.idleCheck();
  }

  /** A data message went to or came from the client. */
  touch(): void {
    this.lastData = Date.now();
  }

  stop(): void {
    this.ended = true;
    clearTimeout(this.lifetimeTimer);
    clearTimeout(this.idleTimer);
  }

  private lifetimeAt(endAt: number): void {
    const left = endAt - Date.now();
    if (left > 0) {
      this.lifetimeTimer = setTimeout(() => this.lifetimeAt(endAt), Math.min(left, MAX_TIMER_MS));
      return;
    }
    this.end(AppCloseCode.MaxLifetime, `--max-lifetime ${this.options.maxLifetime} s`);
  }

  private idleCheck(): void {
    const timeoutMs = this.options.idleTimeout * 1000;
    const left = this.lastData + timeoutMs - Date.now();
    if (left > 0) {
      this.idleTimer = setTimeout(() => this.idleCheck(), Math.min(left, MAX_TIMER_MS));
      return;
    }
    this.end(
      AppCloseCode.IdleTimeout,
      `no data message for --idle-timeout ${this.options.idleTimeout} s`,
    );
  }

  private end(code: (typeof AppCloseCode)['MaxLifetime' | 'IdleTimeout'], why: string): void {
    if (this.ended) return;
    this.stop();
    this.options.log(`${why}, closing with ${code}`);
    this.options.close(code, APP_CLOSE_REASON[code]);
  }
}
