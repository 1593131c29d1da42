import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { workerConfigOf, type ServerConfig } from '../shared/config';
import { hostPort } from './address';
import { ClientDirectory } from './clients/client-directory';
import { ClientEvents } from './clients/client-events';
import { Channels } from './channels/channels';
import { ConnectionGuard } from './http/connection-guard';
import { pageRoute } from './http/page-route';
import { publishRoute } from './http/publish-route';
import { Refusals } from './http/refusal';
import { Router } from './http/router';
import type { ServerFacts } from './http/status';
import { statusRoute } from './http/status-route';
import { UpgradeHandler, upgradeOptions } from './http/upgrade-handler';
import { wireWebsocketdHttp } from './http/websocketd-http';
import type { Logger } from './logger';
import { CommandReaper } from './pool/command-reaper';
import { PushCounts } from './pool/push-counts';
import { DEFAULT_WORKER_ENTRY, forkWorkerProcess } from './pool/worker-process';
import { WorkerPool } from './pool/worker-pool';

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
  private readonly channels: Channels;
  private readonly startedAt = Date.now();
  private address = '';

  constructor(config: ServerConfig, logger: Logger, version: string) {
    const channels = (this.channels = new Channels(config, logger));
    const directory = new ClientDirectory(config.maxClients);
    const counts = new PushCounts(() => this.pool.serving);
    const entry = process.env.PUSH_WEBSOCKET_TEST_WORKER_ENTRY || DEFAULT_WORKER_ENTRY;
    const workerConfig = workerConfigOf(config, version);
    this.pool = new WorkerPool({
      spares: config.spareWorkers,
      logger,
      spawn: () => forkWorkerProcess(entry, workerConfig),
      // A client may wait for a worker as long as it may take to send its request.
      waitTimeoutMs: config.handshakeTimeout * 1000,
      events: new ClientEvents(
        (worker) => this.pool.terminate(worker),
        directory,
        channels.relay,
        counts,
        new CommandReaper(logger),
        logger,
      ),
    });

    const refusals = new Refusals(logger);
    const guard = new ConnectionGuard(config.handshakeTimeout * 1000, refusals, logger);
    const upgrades = new UpgradeHandler(
      upgradeOptions(config),
      this.pool,
      directory,
      channels.relay,
      guard,
      refusals,
      logger,
    );
    const router = new Router(refusals).add('/', pageRoute()).add(
      '/status',
      statusRoute(this.pool, counts, config, () => this.facts(version, channels)),
    );
    wireWebsocketdHttp(router, refusals, config);
    if (config.publishToken !== undefined) {
      router.add(
        '/publish',
        publishRoute(config.publishToken, config.maxMessageSize, channels.publisher, logger),
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
        this.channels.start();
        resolve(this.address);
      });
    });
  }

  /** Stops accepting, closes every client with 1001 and waits for the workers (bounded). */
  async stop(graceMs = 3000): Promise<void> {
    this.server.close();
    this.server.closeIdleConnections();
    await this.pool.shutdown(graceMs);
    await this.channels.stop();
  }

  private facts(version: string, channels: Channels): ServerFacts {
    return {
      address: this.address,
      startedAt: this.startedAt,
      version,
      instance: channels.relay.instanceId,
      backplane: channels.backplane,
    };
  }
}
