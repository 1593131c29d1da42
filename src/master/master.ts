import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { workerConfigOf, type ServerConfig } from '../shared/config';
import { hostPort } from '../shared/host-port';
import { Channels } from './channels/channels';
import { ClientDirectory } from './clients/client-directory';
import { ClientEvents } from './clients/client-events';
import { ClientLifecycle } from './clients/client-lifecycle';
import { LAST_WORDS_MS } from './pool/last-words';
import { HookRunner } from './hooks/hook-runner';
import { LifecycleHooks } from './hooks/lifecycle-hooks';
import { PRESENCE_PREFIX, presenceRoute } from './http/presence-route';
import { createPresence } from './presence';
import { Presence } from './presence/presence';
import { PresenceFrames } from './presence/presence-frames';
import type { Gate } from './auth/gate';
import { FrameTally } from './observability/frame-tally';
import { AcceptErrors } from './observability/accept-errors';
import { adminOnly } from './http/admin-access';
import { AddressLimits } from './http/address-limits';
import { parseTrustProxy } from './http/client-address';
import { ConnectionGuard } from './http/connection-guard';
import { DescriptorWatch } from './observability/descriptor-watch';
import { healthRoute } from './http/health-route';
import { httpFront } from './http/http-front';
import { metricsRoute } from './http/metrics-route';
import { clientScriptRoute, pageRoute } from './http/page-route';
import { publishRoute } from './http/publish-route';
import { disconnectRoute } from './http/disconnect-route';
import { ClientControl } from './clients/client-control';
import { Refusals } from './http/refusal';
import { Router } from './http/router';
import type { ServerFacts } from './http/status';
import { statusRoute } from './http/status-route';
import { UpgradeHandler, upgradeOptions } from './http/upgrade-handler';
import { wireWebsocketdHttp } from './http/websocketd-http';
import type { Logger } from './observability/logger';
import { masterMetrics } from './observability/master-metrics';
import { MetricsEvents } from './observability/metrics-events';
import { CommandReaper } from './pool/command-reaper';
import { PushCounts } from './pool/push-counts';
import { DEFAULT_WORKER_ENTRY, workerForker } from './pool/worker-process';
import { WorkerPool } from './pool/worker-pool';
import { Drain } from './drain/drain';
import { drainRoute } from './drain/drain-route';
import type { LiveSetting } from './config/reload-plan';
import type { MasterLogger } from './observability/logger';

/**
 * The master, as a composition root: it builds the parts and wires them together.
 * Each decision lives in a part: the pool (workers), the directory (clients), the
 * channels (broker, relay, publisher), the router (plain HTTP), the upgrade handler
 * (handshake and hand-off), Refusals (every refused request), the metrics.
 */
export class Master {
  private readonly server: http.Server;
  private readonly pool: WorkerPool;
  private readonly channels: Channels;
  private readonly descriptors: DescriptorWatch;
  private readonly acceptErrors: AcceptErrors;
  private readonly hooks: HookRunner;
  private readonly hookTimeoutMs: number;
  private readonly drainer: Drain;
  private drainedListener: (() => void) | undefined;
  /** The parts a reload (SIGHUP) changes: see reconfigure(). */
  private readonly live: {
    /** The settings object /status reads: a reload writes the changed live ones into it. */
    config: ServerConfig;
    upgrades: UpgradeHandler;
    directory: ClientDirectory;
    limits: AddressLimits;
  };
  private readonly presence: Presence;
  /** Each client's connected and ended events (presence, hooks; the hot upgrade feeds it too). */
  readonly lifecycle: ClientLifecycle;
  private readonly startedAt = Date.now();
  private address = '';

  /** `gate`: who may connect (authSetup: --auth-*), undefined when anyone may. */
  constructor(config: ServerConfig, logger: Logger, version: string, gate?: Gate) {
    // Built in the order they depend on each other: each part only uses parts above it.
    const channels = (this.channels = new Channels(config, logger));
    const directory = new ClientDirectory(config.maxClients, config.maxClientsPerIp);
    const entry = process.env.PUSH_WEBSOCKET_TEST_WORKER_ENTRY || DEFAULT_WORKER_ENTRY;
    const pool = (this.pool = new WorkerPool({
      spares: config.spareWorkers,
      maxSpares: config.spareWorkersMax,
      logger,
      spawn: workerForker(entry, workerConfigOf(config, version)),
      // A client may wait for a worker as long as it may take to send its request.
      waitTimeoutMs: config.handshakeTimeout * 1000,
    }));
    const counts = new PushCounts(() => pool.serving);
    const metrics = masterMetrics({
      pool,
      clients: () => directory.size,
      channels: () => channels.relay.channelCount,
    });
    channels.onBackplane((up) => metrics.setBackplaneUp(up));
    channels.publisher.onPublished(() => metrics.published());
    const lifecycle = (this.lifecycle = new ClientLifecycle(() => channels.relay.instanceId));
    this.hookTimeoutMs = config.lifecycle.hookTimeout * 1000;
    this.hooks = new HookRunner({
      timeoutMs: this.hookTimeoutMs,
      passenv: config.passenv,
      counted: (hook, outcome) => metrics.hookRun(hook, outcome),
      warn: (line) => logger.warn(line),
      debug: (line) => logger.debug(line),
    });
    const hooks = new LifecycleHooks(config.lifecycle, this.hooks, () => lifecycle.instance);
    hooks.listen(lifecycle);
    this.presence = new Presence(
      createPresence({
        redis: config.redis,
        instanceId: channels.relay.instanceId,
        ttlMs: config.lifecycle.presenceTtl * 1000,
        vacateGraceMs: config.lifecycle.vacateGrace * 1000,
        logger,
      }),
      lifecycle,
    );
    this.presence.store.onChannel = (channel, event) =>
      hooks.tell({ event, channel, at: new Date() });
    new PresenceFrames(channels.relay, channels.broker, (line) => logger.debug(line)).listen(
      lifecycle,
    );
    // The pool's listener needs the pool (quits terminate workers; counts and metrics
    // read it): it is attached once both exist, before listen() starts the pool.
    pool.attach(
      new MetricsEvents(
        new ClientEvents({
          terminate: (worker) => pool.terminate(worker),
          directory,
          relay: channels.relay,
          counts,
          reaper: new CommandReaper(logger, config.sandbox?.command.cgroup),
          logger,
          lifecycle,
        }),
        metrics,
        new FrameTally((count) => metrics.framesSent(count)),
      ),
    );

    this.drainer = new Drain({
      windowMs: config.drainSeconds * 1000,
      pool,
      clientsLeft: () => directory.load,
      logger,
      onDrained: () => this.drainedListener?.(),
    });
    // Refusals of connections and handshakes count in connections_total; plain HTTP ones do not.
    const refusals = new Refusals(logger, (status, code) => {
      metrics.connection(status);
      metrics.refusal(code);
    });
    const guard = new ConnectionGuard(config.handshakeTimeout * 1000, refusals, logger);
    const limits = new AddressLimits(
      { maxPerAddress: config.maxClientsPerIp, connectRate: config.connectRate },
      directory,
      (line) => logger.warn(line),
    );
    const upgrades = new UpgradeHandler(
      {
        ...upgradeOptions(config),
        trustedProxies: parseTrustProxy(config.trustProxy),
        limits,
        onUpgraded: () => metrics.connection('upgraded'),
        onEventStream: () => metrics.connection('sse'),
        gate,
        draining: () => this.drainer.unavailable(),
      },
      { pool, directory, relay: channels.relay, guard, refusals, logger },
    );
    this.live = { config, upgrades, directory, limits };
    const status = statusRoute(pool, counts, config, () => this.facts(version));
    const httpRefusals = new Refusals(logger, (_status, code) => metrics.refusal(code));
    const router = new Router(httpRefusals)
      .add('/', pageRoute())
      .add('/client.js', clientScriptRoute())
      .add('/status', adminOnly(config.adminToken, status))
      .add('/metrics', adminOnly(config.adminToken, metricsRoute(metrics, counts)))
      .addPrefix(PRESENCE_PREFIX, adminOnly(config.adminToken, presenceRoute(this.presence)))
      .add(
        '/healthz',
        healthRoute(() => this.drainer.unavailable() ?? pool.unavailable()),
      );
    if (config.adminToken !== undefined) {
      // Only behind the admin token: an open POST would let anyone empty the instance.
      router.add(
        '/drain',
        adminOnly(config.adminToken, drainRoute(this.drainer, config.drainSeconds)),
      );
    }
    wireWebsocketdHttp(router, [refusals, httpRefusals], config);
    if (config.publishToken !== undefined) {
      const control = new ClientControl(
        channels.broker,
        channels.relay,
        directory,
        (worker) => pool.disconnect(worker),
        logger,
      );
      router.add(
        '/publish',
        publishRoute(
          config.publishToken,
          config.maxMessageSize,
          channels.publisher,
          logger,
          control,
        ),
      );
      router.add(
        '/disconnect',
        disconnectRoute(config.publishToken, config.maxMessageSize, control, logger),
      );
    }
    this.descriptors = new DescriptorWatch(logger);
    this.acceptErrors = new AcceptErrors(logger);
    this.server = httpFront(router, upgrades, guard, refusals, this.acceptErrors);
  }

  /** Listens; resolves with "host:port" (the real port when --port 0). */
  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (error: NodeJS.ErrnoException) => this.acceptErrors.failed(error));
        const { address, port: real } = this.server.address() as AddressInfo;
        this.address = hostPort(address, real);
        this.pool.start();
        this.channels.start();
        this.descriptors.start();
        resolve(this.address);
      });
    });
  }

  /**
   * Starts the graceful drain (SIGQUIT, POST /drain; docs/operations.md#draining);
   * false if one already runs. `listener` hears once every client is gone.
   */
  drain(why: string): boolean {
    return this.drainer.start(why);
  }

  /**
   * Applies re-read settings (SIGHUP; src/master/config/reload-plan.ts says which may
   * change live): each binds from the next handshake or decision on, and no client is
   * touched. `config` holds every setting; only the `changed` ones are applied.
   */
  reconfigure(
    config: ServerConfig,
    changed: readonly LiveSetting[],
    logger: Pick<MasterLogger, 'setLevel'>,
  ): void {
    const { upgrades, directory, limits } = this.live;
    const has = (setting: LiveSetting): boolean => changed.includes(setting);
    if (has('logLevel')) logger.setLevel(config.logLevel);
    if (has('origins')) upgrades.setAllowedOrigins(config.origins);
    if (has('maxClients') || has('maxClientsPerIp')) {
      directory.setLimits(config.maxClients, config.maxClientsPerIp);
    }
    if (has('maxClientsPerIp') || has('connectRate')) {
      limits.setOptions({ maxPerAddress: config.maxClientsPerIp, connectRate: config.connectRate });
    }
    if (has('spareWorkers') || has('spareWorkersMax')) {
      this.pool.setSpares(config.spareWorkers, config.spareWorkersMax);
    }
    if (has('drainSeconds')) this.drainer.setWindow(config.drainSeconds * 1000);
    // Hazard: the start's settings object is shared (status reads it per request); only
    // the live settings are written into it, which the other parts read at start alone.
    const running = this.live.config as unknown as Record<LiveSetting, unknown>;
    for (const setting of changed) running[setting] = config[setting];
  }

  /** Called once a drain has seen every client go (main.ts then stops and exits 0). */
  onDrained(listener: () => void): void {
    this.drainedListener = listener;
  }

  /** Stops accepting, closes every client with 1001 and waits for the workers (bounded). */
  async stop(graceMs = 3000): Promise<void> {
    this.drainer.stop();
    this.descriptors.stop();
    this.server.close();
    this.server.closeIdleConnections();
    await this.pool.shutdown(graceMs);
    // The disconnect hooks of the clients just closed run (each bounded by --hook-timeout):
    // their ends come once the workers' IPC channels have drained (at most LAST_WORDS_MS).
    await this.lifecycle.whenEmpty(LAST_WORDS_MS + 500);
    await this.hooks.drain(this.hookTimeoutMs + 1000);
    await this.presence.store.close();
    await this.channels.stop();
  }

  private facts(version: string): ServerFacts {
    return {
      address: this.address,
      startedAt: this.startedAt,
      version,
      instance: this.channels.relay.instanceId,
      backplane: this.channels.backplane,
    };
  }
}
