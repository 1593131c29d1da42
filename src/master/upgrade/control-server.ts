import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  adoptProblem,
  adoptsVersion,
  controlRecord,
  type AdoptRequest,
  type ControlLine,
} from '../../shared/control-channel';
import { LineSplitter } from '../../shared/line-splitter';
import { reconnectHintMs, restartClose } from '../drain/restart-close';
import type { Logger } from '../observability/logger';
import { AdoptedProcess } from './adopted-process';

/** A worker's line (a log message, a report) is short; a longer one is cut. */
const MAX_LINE_BYTES = 1024 * 1024;
/** How long a connection may take to send its adopt request (a starved worker is slow). */
const HELLO_TIMEOUT_MS = 30_000;
/**
 * The control socket's backlog: every worker of the old master connects at once, and a
 * Unix socket whose backlog is full refuses at once (EAGAIN) where TCP would wait. The
 * kernel caps it at net.core.somaxconn (4096 on current kernels); workers retry besides.
 */
const BACKLOG = 65_535;

/**
 * Closes the client of a worker too old (or too new) to adopt as a drain does: 1012
 * "service restart" with a reconnect hint (src/master/drain/restart-close.ts); it
 * reconnects, to this master. Every control version understands `disconnect`
 * (src/shared/control-channel.ts). At once, not over --drain-seconds: such a worker has
 * no master that would keep relaying to it.
 */
export function drainUnadoptable(socket: net.Socket): void {
  socket.end(controlRecord({ type: 'disconnect', ...restartClose(reconnectHintMs(Math.random)) }));
}

export interface ControlServerOptions {
  /** A worker re-attached: the master serves it from now on. */
  onAdopt: (request: AdoptRequest, process: AdoptedProcess) => void;
  /** A worker drained, not adopted (its version): its client is not to be waited for. */
  onDrain: (request: AdoptRequest) => void;
  logger: Logger;
}

/**
 * The control socket a new master listens on during a hot upgrade: each serving worker
 * of the old master connects, sends its AdoptRequest, and is adopted (`onAdopt`), or
 * drained when its control version is not one this master speaks.
 */
export class ControlServer {
  private readonly server = net.createServer((socket) => this.connection(socket));
  readonly path: string;

  private readonly onAdopt: ControlServerOptions['onAdopt'];
  private readonly onDrain: ControlServerOptions['onDrain'];
  private readonly logger: Logger;

  constructor(directory: string, options: ControlServerOptions) {
    ({ onAdopt: this.onAdopt, onDrain: this.onDrain, logger: this.logger } = options);
    this.path = path.join(directory, `master-${process.pid}.sock`);
  }

  listen(): Promise<string> {
    rmSync(this.path, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ path: this.path, backlog: BACKLOG }, () => {
        this.server.off('error', reject);
        chmodSync(this.path, 0o600);
        resolve(this.path);
      });
    });
  }

  /** Stops taking workers (those adopted keep their connections) and removes the file. */
  close(): void {
    this.server.close();
    rmSync(this.path, { force: true });
  }

  private connection(socket: net.Socket): void {
    socket.on('error', () => undefined);
    const lines = new LineSplitter(MAX_LINE_BYTES);
    let adopted: AdoptedProcess | undefined;
    const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) {
        if (line === '') continue;
        let message: ControlLine;
        try {
          message = JSON.parse(line) as ControlLine;
        } catch {
          this.logger.warn('Control socket: a line that is not JSON; connection closed');
          socket.destroy();
          return;
        }
        if (adopted !== undefined) {
          adopted.receive(message);
          continue;
        }
        clearTimeout(timer);
        adopted = this.first(socket, message);
        if (adopted === undefined) return;
      }
    });
  }

  /** The first line: an adopt request, or the connection is closed (drained when too old). */
  private first(socket: net.Socket, message: unknown): AdoptedProcess | undefined {
    const problem = adoptProblem(message);
    if (problem !== undefined) {
      this.logger.warn(`Control socket: ${problem}; connection closed`);
      socket.destroy();
      return undefined;
    }
    const request = message as AdoptRequest;
    if (!adoptsVersion(request.version)) {
      this.logger.warn(
        `Worker pid ${request.pid} speaks control version ${request.version}, not one this ` +
          'master adopts: its client is closed with 1012 (service restart)',
        { client: request.client.id, pid: request.pid },
      );
      drainUnadoptable(socket);
      this.onDrain(request);
      return undefined;
    }
    const adopted = new AdoptedProcess(request.pid, socket);
    this.onAdopt(request, adopted);
    return adopted;
  }
}
