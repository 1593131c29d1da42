import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from './logger';

/** How often the master counts its open descriptors. */
const EVERY_MS = 2000;
/** Descriptors kept free of the limit: libuv's spare, and one to count with. */
const MARGIN = 3;

/** The soft limit on open files (RLIMIT_NOFILE), from /proc/self/limits. */
export function openFilesLimit(limits = readFileSync('/proc/self/limits', 'utf8')): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return match === null || match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/**
 * Out of file descriptors, libuv accepts and closes connections it cannot keep (its
 * "EMFILE trick": no busy loop, and no error reaches us). So the master counts its
 * descriptors every 2 s: near the limit it logs once that new connections are being
 * turned away, and once again when they are accepted again.
 */
export class DescriptorWatch {
  private timer: NodeJS.Timeout | undefined;
  private full = false;
  private since = 0;

  constructor(
    private readonly logger: Logger,
    private readonly limit = openFilesLimit(),
    private readonly count = (): number => readdirSync('/proc/self/fd').length,
  ) {}

  start(): void {
    if (!Number.isFinite(this.limit)) return;
    this.timer = setInterval(() => this.check(), EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  check(): void {
    let open: number;
    try {
      open = this.count();
    } catch (error) {
      // Counting needs a descriptor too: none left is the answer.
      if ((error as NodeJS.ErrnoException).code !== 'EMFILE') return;
      open = this.limit;
    }
    const full = open >= this.limit - MARGIN;
    if (full === this.full) return;
    this.full = full;
    if (full) {
      this.since = Date.now();
      this.logger.error(
        `Cannot accept connections: EMFILE (${open} of ${this.limit} descriptors open); ` +
          'new clients are turned away until descriptors free up',
      );
    } else {
      this.logger.info(
        `Accepting connections again: ${open} of ${this.limit} descriptors open ` +
          `(after ${Date.now() - this.since} ms)`,
      );
    }
  }
}
