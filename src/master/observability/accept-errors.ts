import type { Logger } from './logger';

/**
 * Accept failures of the listening socket (EMFILE when the master is out of file
 * descriptors, ENFILE, ENOBUFS): logged once per burst, not per connection, and never
 * fatal. libuv keeps a spare descriptor to accept-and-close connections it cannot take,
 * so waiting costs no busy loop; the next accepted connection ends the burst.
 */
export class AcceptErrors {
  private failures = 0;
  private firstAt = 0;

  constructor(private readonly logger: Logger) {}

  failed(error: NodeJS.ErrnoException): void {
    if (this.failures++ === 0) {
      this.firstAt = Date.now();
      this.logger.error(
        `Cannot accept connections: ${error.code ?? error.message}; ` +
          'clients are turned away until descriptors free up',
      );
    }
  }

  /** A connection was accepted: a burst of failures, if any, is over. */
  accepted(): void {
    if (this.failures === 0) return;
    this.logger.info(
      `Accepting connections again after ${this.failures} failure(s) in ${Date.now() - this.firstAt} ms`,
    );
    this.failures = 0;
  }
}
