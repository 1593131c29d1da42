import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { workerConfigOf, type ServerConfig } from '../shared/config';
import { hostPort } from './address';
import { ClientDirectory } from './clients/client-directory';
import { ClientEvents } from './clients/client-events';
import { Relay } from './clients/relay';
import { FrameTally } from './frame-tally';
import { adminOnly } from './http/admin-access';
import { parseTrustProxy } from './http/client-address';
import { ConnectionGuard } from './http/connection-guard';
import { healthRoute } from './http/health-route';
import { metricsRoute } from './http/metrics-route';
import { pageRoute } from './http/page-route';
import { publishRoute } from './http/publish-route';
import { Refusals } from './http/refusal';
import { Router } from './http/router';
import { statusRoute } from './http/status-route';
import { UpgradeHandler } from './http/upgrade-handler';
import type { Logger } from './logger';
import { countPublished, masterMetrics } from './master-metrics';
import { MetricsEvents } from './metrics-events';
import { CommandReaper } from './pool/command-reaper';
import { PushCounts } from './pool/push-counts';
import { DEFAULT_WORKER_ENTRY, forkWorkerProcess } from './pool/worker-process';
import { WorkerPool, type Unavailable } from './pool/worker-pool';

/** Request headers larger than this get 431 (Node's parser enforces it). */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The master, as a composition root: it builds the parts and wires them to Node's
 * HTTP server. Each decision lives in a part: the pool (workers), the directory
 * (clients), the router (plain HTTP), the upgrade handler (handshake and hand-off),
 * and Refusals (every refused request).
 */
export class Master {
  private readonly server: http.Server;
  private readonly pool: WorkerPool;
  private readonly startedAt = Date.now();
  private address = '';
  /** Set by stop(): /healthz says 503 from then on. */
  private draining = false;

  constructor(config: ServerConfig, logger: Logger, version: string) {
    const directory = new ClientDirectory(config.maxClients);
    const counts = new PushCounts(() => this.pool.serving);
    const entry = process.env.PUSH_WEBSOCKET_TEST_WORKER_ENTRY || DEFAULT_WORKER_ENTRY;
    const workerConfig = workerConfigOf(config);
    const metrics = masterMetrics({
      pool: () => this.pool,
      clients: () => directory.size,
      channels: () => 0, // channels come with the channel work
    });
    this.pool = new WorkerPool({
      spares: config.spareWorkers,
      logger,
      spawn: () => forkWorkerProcess(entry, workerConfig),
      // A client may wait for a worker as long as it may take to send its request.
      waitTimeoutMs: config.handshakeTimeout * 1000,
      events: new MetricsEvents(
        new ClientEvents(
          (worker) => this.pool.terminate(worker),
          directory,
          counts,
          new CommandReaper(logger),
          logger,
        ),
        metrics,
        new FrameTally((count) => metrics.framesSent(count)),
      ),
    });

    // Refusals of connections and handshakes count in connections_total; plain HTTP ones do not.
    const refusals = new Refusals(logger, (status) => metrics.connection(status));
    const guard = new ConnectionGuard(config.handshakeTimeout * 1000, refusals, logger);
    const upgrades = new UpgradeHandler(
      {
        allowedOrigins: config.origins,
        trustedProxies: parseTrustProxy(config.trustProxy),
        onUpgraded: () => metrics.connection('upgraded'),
      },
      this.pool,
      directory,
      guard,
      refusals,
      logger,
    );
    const status = statusRoute(this.pool, counts, config, () => this.facts(version));
    const router = new Router(new Refusals(logger))
      .add('/', pageRoute())
      .add('/status', adminOnly(config.adminToken, status))
      .add('/metrics', adminOnly(config.adminToken, metricsRoute(metrics, counts)))
      .add(
        '/healthz',
        healthRoute(() => this.unavailable()),
      );
    if (config.publishToken !== undefined) {
      const relay = new Relay(directory, logger);
      router.add(
        '/publish',
        publishRoute(
          config.publishToken,
          config.maxMessageSize,
          countPublished(metrics, (p) => relay.publish(p)),
          logger,
        ),
      );
    }

    this.server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES });
    this.server.on('connection', (socket: Socket) => guard.watch(socket));
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      guard.requestArrived(req.socket);
      res.once('finish', () => guard.responseFinished(req.socket));
      if (req.headers.upgrade === undefined) return router.handle(req, res);
      // Upgrade without "Connection: Upgrade": the handshake checks say why it is refused.
      const verdict = upgrades.check(req);
      const remote = hostPort(req.socket.remoteAddress, req.socket.remotePort);
      const target = { socket: req.socket, res, describe: `${remote} ${req.method} ${req.url}` };
      if (!verdict.ok) refusals.refuse(target, verdict.status, verdict.reason, verdict.headers);
      else router.handle(req, res);
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      upgrades.handle(req, socket, head).catch((error: unknown) => {
        router.internalError(
          error,
          socket,
          undefined,
          hostPort(socket.remoteAddress, socket.remotePort),
        );
      });
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      guard.parseError(error, socket),
    );
  }

  /** Listens; resolves with "host:port" (the real port when --port 0). */
  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const { address, port: real } = this.server.address() as AddressInfo;
        this.address = hostPort(address, real);
        this.pool.start();
        resolve(this.address);
      });
    });
  }

  /** Stops accepting, closes every client with 1001 and waits for the workers (bounded). */
  async stop(graceMs = 3000): Promise<void> {
    this.draining = true;
    this.server.close();
    this.server.closeIdleConnections();
    await this.pool.shutdown(graceMs);
  }

  /** Why /healthz is not ok: draining on shutdown, or the pool backing off. */
  private unavailable(): Unavailable | undefined {
    if (this.draining) return { reason: 'Server shutting down', retryAfterS: 5 };
    return this.pool.unavailable();
  }

  private facts(version: string): { address: string; startedAt: number; version: string } {
    return { address: this.address, startedAt: this.startedAt, version };
  }
}
