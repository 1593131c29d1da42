import type { Socket } from 'node:net';
import { hostPort } from '../../shared/host-port';
import type { Logger } from '../observability/logger';
import { BurstLog } from './burst-log';
import { RefusalCode } from '../../shared/protocol/reasons';
import type { Refusals } from './refusal';

/** Handshake timeouts after the first are counted, and logged as one line per this many ms. */
const TIMEOUT_SUMMARY_MS = 10_000;

/**
 * Watches every TCP connection until it has sent a complete request: a client has
 * --handshake-timeout seconds for it (again after each response on a kept-alive
 * connection), then gets 408. Node's own headersTimeout is only checked every 30 s,
 * too coarse to stop a slowloris. A connection that closes without any request or
 * answer gets a log line of its own. Timeouts are logged once per burst: the first one
 * by its address, then one line per 10 s counting the rest (250 slowloris sockets make
 * two lines, not 250).
 */
export class ConnectionGuard {
  private readonly timers = new WeakMap<Socket, NodeJS.Timeout>();
  /** Connections that got an answer (or a log line) of their own. */
  private readonly answered = new WeakSet<Socket>();
  /** Timeouts come in floods (a slowloris): the first logged, then one count per interval. */
  private readonly timeouts: BurstLog;

  constructor(
    private readonly timeoutMs: number,
    private readonly refusals: Refusals,
    private readonly logger: Logger,
    private readonly summaryMs = TIMEOUT_SUMMARY_MS,
  ) {
    this.timeouts = new BurstLog(summaryMs, (line) => logger.warn(line));
  }

  /** A new connection: its clock starts now. */
  watch(socket: Socket): void {
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    this.arm(socket);
    socket.once('close', () => {
      clearTimeout(this.timers.get(socket));
      if (!this.answered.has(socket)) {
        this.logger.info(`Connection from ${remote} closed without a request`);
      }
    });
  }

  /** A complete request arrived (or the connection was answered some other way). */
  requestArrived(socket: Socket): void {
    clearTimeout(this.timers.get(socket));
    this.answered.add(socket);
  }

  /** A response finished on a kept-alive connection: the next request has a new clock. */
  responseFinished(socket: Socket): void {
    if (!socket.destroyed) this.arm(socket);
  }

  /**
   * Node's parser refused the request (a `clientError`): 431 for headers over the
   * limit, 400 for anything else; a connection reset just ends.
   */
  parseError(error: NodeJS.ErrnoException, socket: Socket): void {
    this.requestArrived(socket);
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    if (error.code === 'ECONNRESET' || !socket.writable) {
      this.logger.debug(`Connection from ${remote} ended before a request: ${error.code}`);
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const reason = tooLarge ? 'Request headers too large' : 'Malformed HTTP request';
    this.refusals.refuse(
      { socket, describe: remote },
      {
        status: tooLarge ? 431 : 400,
        code: tooLarge ? RefusalCode.HeadersTooLarge : RefusalCode.BadRequest,
        reason: `${reason} (${error.code ?? error.message})`,
      },
    );
  }

  private get summarySeconds(): number {
    return this.summaryMs / 1000;
  }

  private arm(socket: Socket): void {
    clearTimeout(this.timers.get(socket));
    const timer = setTimeout(() => {
      this.answered.add(socket);
      const remote = hostPort(socket.remoteAddress, socket.remotePort);
      const seconds = this.summarySeconds;
      this.timeouts.event('timeout', {
        first: `Handshake timeout: ${remote} sent no complete request, closing it (408)`,
        more: (count) =>
          `Handshake timeout: ${count} more connection(s) sent no complete request in ${seconds} s, closed (408)`,
      });
      this.refusals.refuse(
        { socket, describe: remote },
        { status: 408, code: RefusalCode.Timeout, reason: 'Request timeout' },
        null,
      );
    }, this.timeoutMs);
    timer.unref();
    this.timers.set(socket, timer);
  }
}
