import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { hostPort } from './address';
import { workerConfigOf, type ServerConfig } from '../shared/config';
import { handOffSocket } from './pool/handoff';
import type { Logger } from './logger';
import type { Publication } from './http/publish';
import { servePublish } from './http/publish-endpoint';
import { statusReport } from './http/status';
import {
  checkUpgradeRequest,
  errorResponse,
  upgradeResponse,
  type HandshakeVerdict,
} from '../shared/protocol/handshake';
import { DEFAULT_WORKER_ENTRY, WorkerPool, type Worker } from './pool/worker-pool';

const CLIENT_PAGE = path.resolve(__dirname, '../../../src/client/index.html');
/** Request headers larger than this get 431 (Node's parser enforces it). */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The master: owns the listening socket, answers plain HTTP (the page, /status),
 * completes the WebSocket handshake, and hands each client's socket to a worker
 * process of its own. It never reads a frame; it never blocks on a worker.
 */
export class Master {
  private readonly server: http.Server;
  private readonly pool: WorkerPool;
  private readonly page: Buffer;
  private readonly startedAt = Date.now();
  private nextClientId = 1;
  /** Handshakes waiting for a worker, counted against --max-clients. */
  private pendingClients = 0;
  private address = '';

  constructor(
    private readonly config: ServerConfig,
    private readonly logger: Logger,
    private readonly version: string,
  ) {
    this.page = readFileSync(CLIENT_PAGE);
    this.pool = new WorkerPool({
      spares: config.spareWorkers,
      workerConfig: workerConfigOf(config),
      logger,
      entry: process.env.PUSH_WEBSOCKET_TEST_WORKER_ENTRY || DEFAULT_WORKER_ENTRY,
      // A client may wait for a worker as long as it may take to send its request.
      waitTimeoutMs: config.handshakeTimeout * 1000,
      onQuit: (worker, text) => this.onQuit(worker, text),
      onClientGone: (worker, code, signal) => this.onClientGone(worker, code, signal),
    });
    this.server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES });
    this.server.on('connection', (socket: Socket) => this.onConnection(socket));
    // Client input enters here: whatever goes wrong with one request ends that request,
    // never the master (the bug behind it is logged).
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      try {
        this.onRequest(req, res);
      } catch (error) {
        this.internalError(error, req.socket, res);
      }
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      this.onUpgrade(req, socket, head).catch((error: unknown) =>
        this.internalError(error, socket),
      );
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      this.onClientError(error, socket),
    );
  }

  /** Listens; resolves with "host:port" (the real port when --port 0). */
  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        const { address, port } = this.server.address() as AddressInfo;
        this.address = hostPort(address, port);
        this.pool.start();
        resolve(this.address);
      });
    });
  }

  /** Stops accepting, closes every client with 1001 and waits for the workers (bounded). */
  async stop(graceMs = 3000): Promise<void> {
    this.server.close();
    this.server.closeIdleConnections();
    await this.pool.shutdown(graceMs);
  }

  // --- plain HTTP -------------------------------------------------------------

  private onConnection(socket: Socket): void {
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    this.armHandshakeTimer(socket);
    socket.once('close', () => {
      clearTimeout(handshakeTimers.get(socket));
      if (!answered.has(socket))
        this.logger.info(`Connection from ${remote} closed without a request`);
    });
  }

  /**
   * A client has --handshake-timeout seconds to send a complete request (again after
   * each response on a kept-alive connection). Node's own headersTimeout is only
   * checked every 30 s, too coarse to stop a slowloris.
   */
  private armHandshakeTimer(socket: Socket): void {
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    clearTimeout(handshakeTimers.get(socket));
    const timer = setTimeout(() => {
      answered.add(socket);
      this.logger.warn(`Handshake timeout: ${remote} sent no complete request, closing it`);
      if (socket.writable) socket.end(errorResponse(408, 'Request timeout'));
      socket.destroySoon();
      setTimeout(() => socket.destroy(), 1000).unref();
    }, this.config.handshakeTimeout * 1000);
    timer.unref();
    handshakeTimers.set(socket, timer);
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    clearTimeout(handshakeTimers.get(req.socket));
    answered.add(req.socket);
    res.once('finish', () => {
      if (!req.socket.destroyed) this.armHandshakeTimer(req.socket);
    });
    const remote = hostPort(req.socket.remoteAddress, req.socket.remotePort);
    const reply = (status: number, reason: string, headers: Record<string, string> = {}): void => {
      this.logger.warn(`${status} for ${remote} ${req.method} ${req.url}: ${reason}`);
      // A refused request closes its connection, as the design asks of every bad request.
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        Connection: 'close',
        ...headers,
      });
      res.end(`${reason}\n`);
    };
    const pathname = pathOf(req.url);
    if (pathname === undefined) return reply(400, 'Malformed request target');
    const token = this.config.publishToken;
    if (pathname === '/publish' && token !== undefined) {
      return servePublish(req, res, {
        token,
        maxBytes: this.config.maxMessageSize,
        reply,
        publish: (publication) => this.publish(publication),
        logger: this.logger,
      });
    }
    if (req.headers.upgrade !== undefined) {
      // Upgrade without "Connection: Upgrade": the handshake checks say why it is refused.
      const verdict = this.checkHandshake(req);
      if (!verdict.ok) return reply(verdict.status, verdict.reason, verdict.headers);
    }
    if (pathname !== '/' && pathname !== '/status') {
      return reply(404, 'Not found');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return reply(405, 'Method not allowed', { Allow: 'GET, HEAD' });
    }
    if (pathname === '/') {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
      });
      res.end(this.page);
      return;
    }
    void statusReport(this.pool, this.config, {
      address: this.address,
      startedAt: this.startedAt,
      version: this.version,
    }).then((body) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    });
  }

  /** Relays to the workers (each writes its own frame); undefined when the target does not exist. */
  private publish({ data, client }: Publication): number | undefined {
    const targets = this.pool.busy.filter(
      (worker) => client === undefined || worker.client?.id === client,
    );
    if (client !== undefined && targets.length === 0) return undefined;
    let queued = 0;
    for (const worker of targets) {
      if (worker.publish(data)) queued++;
      else {
        this.logger.warn('Publish queue full, message dropped', {
          client: worker.client?.id,
          pid: worker.pid,
        });
      }
    }
    return queued;
  }

  private internalError(error: unknown, socket: Socket, res?: http.ServerResponse): void {
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    this.logger.error(`500 for ${remote}: ${(error as Error)?.stack ?? String(error)}`);
    if (res !== undefined && !res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('Internal server error\n');
    } else {
      socket.destroy();
    }
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    answered.add(socket);
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    if (error.code === 'ECONNRESET' || !socket.writable) {
      this.logger.debug(`Connection from ${remote} ended before a request: ${error.code}`);
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const reason = tooLarge ? 'Request headers too large' : 'Malformed HTTP request';
    this.logger.warn(`${status} for ${remote}: ${reason} (${error.code ?? error.message})`);
    socket.end(errorResponse(status, reason));
    socket.destroySoon();
  }

  // --- the WebSocket handshake and the hand-off --------------------------------

  private async onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    // Node leaves an upgraded socket without an error listener: a reset would crash us.
    socket.on('error', (error) => this.logger.debug(`client socket error: ${error.message}`));
    clearTimeout(handshakeTimers.get(socket));
    answered.add(socket);
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    this.logger.debug(`Handshake from ${remote}: ${req.method} ${req.url} HTTP/${req.httpVersion}`);
    this.logger.debug(`Handshake headers: ${JSON.stringify(req.headers)}`);

    const refuse = (status: number, reason: string, headers?: Record<string, string>): void => {
      this.logger.warn(`${status} for ${remote} ${req.method} ${req.url}: ${reason}`);
      socket.end(errorResponse(status, reason, headers));
      socket.destroySoon();
    };
    const verdict = this.checkHandshake(req);
    if (!verdict.ok) return refuse(verdict.status, verdict.reason, verdict.headers);
    if (this.pool.busy.length + this.pendingClients >= this.config.maxClients) {
      return refuse(503, `Server full (${this.config.maxClients} clients)`);
    }

    this.logger.debug('Creating client...');
    this.pendingClients++;
    let worker: Worker | undefined;
    try {
      worker = await this.pool.acquire();
    } finally {
      this.pendingClients--;
    }
    if (worker === undefined) return refuse(503, 'No worker available, try again later');
    if (socket.destroyed) {
      this.pool.release(worker);
      this.logger.info(`Client ${remote} left during the handshake`);
      return;
    }
    this.logger.debug('Start a child process');
    const chosen = worker;
    socket.write(upgradeResponse(verdict.accept), (error) => {
      if (error) {
        this.pool.release(chosen);
        this.logger.info(`Client ${remote} left during the handshake: ${error.message}`);
        return;
      }
      this.assign(chosen, req, socket, head, remote);
    });
  }

  private checkHandshake(req: http.IncomingMessage): HandshakeVerdict {
    return checkUpgradeRequest(
      { method: req.method ?? '', httpVersion: req.httpVersion, headers: req.headers },
      { allowedOrigins: this.config.origins },
    );
  }

  private assign(
    worker: Worker,
    req: http.IncomingMessage,
    socket: Socket,
    head: Buffer,
    remote: string,
  ): void {
    const id = this.nextClientId++;
    worker.client = { id, remote, since: new Date() };
    const request = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      serverPort: socket.localPort ?? 0,
      url: req.url ?? '/',
      origin: headerText(req.headers.origin),
      userAgent: headerText(req.headers['user-agent']),
    };
    handOffSocket(worker.process, socket, { type: 'client', id, remote, request }, head).then(
      () =>
        this.logger.info(`Client #${id} is successfully created!`, { client: id, pid: worker.pid }),
      (error: Error) => {
        this.logger.error(`Hand-off to worker failed: ${error.message}`, {
          client: id,
          pid: worker.pid,
        });
        socket.destroy();
        worker.process.kill('SIGKILL');
      },
    );
  }

  // --- what workers report ----------------------------------------------------

  private onQuit(worker: Worker, text: string): void {
    const meta = { client: worker.client?.id, pid: worker.pid };
    this.logger.info(`Client #${meta.client} sent '${text}'`, meta);
    this.logger.info('Killing a child process', meta);
    worker.process.kill('SIGTERM');
    this.logger.info(`Process ${worker.pid} is killed!`, meta);
  }

  private onClientGone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const meta = { client: worker.client?.id, pid: worker.pid };
    if (signal === 'SIGKILL' || (code !== 0 && code !== null)) {
      this.logger.warn(
        `Worker of client #${meta.client} died (code ${code}, signal ${signal})`,
        meta,
      );
    }
    this.logger.info(`Client #${meta.client} disconnected`, meta);
  }
}

/** The path of a request target ("/x?y", or absolute-form), or undefined if it is not a URL. */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

const handshakeTimers = new WeakMap<Socket, NodeJS.Timeout>();
/** Connections that got an answer (or a log line) of their own. */
const answered = new WeakSet<Socket>();
