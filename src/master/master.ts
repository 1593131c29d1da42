import type http from 'node:http';
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo, ListenOptions } from 'node:net';
import type { AdoptRequest } from '../shared/control-channel';
import { MemoryBroker } from './broker/memory-broker';
import type { ClientFeed } from './channels/client-feed';
import type { AdoptedProcess } from './upgrade/adopted-process';
import { handedPipe } from './upgrade/handed-pipe';
import { PUBLISH_FD } from '../shared/publish-stream';
import type { HandedClient, MasterState } from './upgrade/master-state';
import { workerConfigOf, type ServerConfig } from '../shared/config';
import { hostPort } from '../shared/host-port';
import { CloseCode } from '../shared/protocol/constants';
import { Channels } from './channels/channels';
import { ClientDirectory } from './clients/client-directory';
import { ClientEvents } from './clients/client-events';
import { ClientLifecycle, UNKNOWN_EXIT, type ClientConnected } from './clients/client-lifecycle';
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
import { httpFront, isEventStreamRequest } from './http/http-front';
import { metricsRoute } from './http/metrics-route';
import { clientScriptRoute, pageRoute } from './http/page-route';
import { publishRoute } from './http/publish-route';
import { disconnectRoute } from './http/disconnect-route';
import { ClientControl } from './clients/client-control';
import { MIN_STREAM_RETRY_MS, REFUSED_STREAM_HEADERS, Refusals } from './http/refusal';
import { sseRefusalBody } from '../shared/protocol/sse';
import { RefusalCode } from '../shared/protocol/reasons';
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
import { workerMeta, type ClientInfo, type Worker } from './pool/worker';
import type { StreamPosition } from '../shared/ipc';
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
  /** Where it first listened (a failed hot upgrade listens there again). */
  private listenedOn: { port: number; host: string } | undefined;
  private started = false;
  /** Workers adopted in a hot upgrade. */
  adoptedCount = 0;
  private readonly directory: ClientDirectory;
  private readonly counts: PushCounts;
  private readonly reaper: CommandReaper;
  /** Hot upgrade: feeds opened for the old master's clients, waiting for their workers. */
  private readonly expected = new Map<number, { client: HandedClient; feed: ClientFeed }>();
  /** Hot upgrade: publish pipes the old master passed over, by client id, until adoption. */
  private readonly handedPipes = new Map<number, net.Socket>();
  /** Hot upgrade: where each channel stood when the old master stopped delivering. */
  private handedPositions = new Map<string, StreamPosition>();

  /**
   * `gate`: who may connect (authSetup: --auth-*), undefined when anyone may.
   * `instanceId`: the old master's, in a hot upgrade.
   */
  constructor(
    config: ServerConfig,
    private readonly logger: Logger,
    version: string,
    gate?: Gate,
    instanceId?: string,
  ) {
    // Built in the order they depend on each other: each part only uses parts above it.
    const channels = (this.channels = new Channels(config, logger, instanceId));
    const directory = (this.directory = new ClientDirectory(
      config.maxClients,
      config.maxClientsPerIp,
    ));
    const reaper = (this.reaper = new CommandReaper(logger, config.sandbox?.command.cgroup));
    const entry = process.env.PUSH_WEBSOCKET_TEST_WORKER_ENTRY || DEFAULT_WORKER_ENTRY;
    const pool = (this.pool = new WorkerPool({
      spares: config.spareWorkers,
      maxSpares: config.spareWorkersMax,
      logger,
      spawn: workerForker(entry, workerConfigOf(config, version)),
      // A client may wait for a worker as long as it may take to send its request.
      waitTimeoutMs: config.handshakeTimeout * 1000,
    }));
    const counts = (this.counts = new PushCounts(() => pool.serving));
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
          reaper,
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
    this.server.prependListener('request', (_request, response: http.ServerResponse) => {
      this.inFlight++;
      response.once('close', () => this.inFlight--);
    });
  }

  /** Listens; resolves with "host:port" (the real port when --port 0). */
  listen(port: number, host: string): Promise<string> {
    return this.listenTo({ port, host });
  }

  /**
   * Listens on a socket inherited from the old master (a hot upgrade). Its spares wait
   * until the old master's workers have re-attached (`adopted()`).
   */
  listenOnFd(fd: number): Promise<string> {
    this.pool.holdSpares();
    return this.listenTo({ fd } as ListenOptions);
  }

  /** A hot upgrade's re-attaches are done (or given up waiting for): spares now. */
  adoptionsDone(): void {
    this.pool.releaseSpares();
  }

  /** The listening socket's descriptor, for a hot upgrade's new master to inherit. */
  get listeningFd(): number | undefined {
    const handle = (this.server as unknown as { _handle?: { fd?: number } })._handle;
    return handle?.fd !== undefined && handle.fd >= 0 ? handle.fd : undefined;
  }

  get instanceId(): string {
    return this.channels.relay.instanceId;
  }

  /** The workers serving a client (those a hot upgrade hands over). */
  get servingWorkers(): Worker[] {
    return this.pool.serving;
  }

  private listenTo(target: ListenOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(target, () => {
        this.server.off('error', reject);
        this.server.on('error', (error: NodeJS.ErrnoException) => this.acceptErrors.failed(error));
        const { address, port: real } = this.server.address() as AddressInfo;
        this.address = hostPort(address, real);
        this.listenedOn ??= { port: real, host: address };
        if (!this.started) {
          this.started = true;
          this.pool.start();
          this.channels.start();
          this.descriptors.start();
        }
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

  /**
   * A hot upgrade's hand-over: stops accepting (the new master, on the same socket,
   * takes the connections from now on), lets requests under way finish (bounded: the
   * rest are closed), stops delivering publications and the channel commands, ends the
   * spares; then returns what the new master takes on.
   */
  async handOver(graceMs = 1000): Promise<MasterState> {
    // Requests on connections already open (keep-alive) get 503: the publisher tries
    // again, on a new connection, which the new master accepts. Idle connections are
    // not closed under a client that may be sending on them at that instant.
    this.answerUpgrading();
    net.Server.prototype.close.call(this.server);
    const until = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Handshakes under way had their spares; now the new master forks its own.
    this.pool.freeze();
    await this.channels.stopCommands();
    const positions = this.channels.relay.freeze();
    const broker = this.channels.broker;
    const clients: HandedClient[] = this.pool.serving.flatMap((worker) => {
      const client = worker.client;
      if (client === undefined) return [];
      const feed = this.channels.relay.feedOf(client.id);
      const handed: HandedClient = {
        id: client.id,
        pid: worker.pid,
        channel: client.channel,
        format: feed?.format ?? 'text',
        remote: client.remote,
        since: client.since.getTime(),
      };
      if (client.user !== undefined) handed.user = client.user;
      if (client.transport !== undefined) handed.transport = client.transport;
      if (client.presence === true || feed?.presence === true) handed.presence = true;
      return [handed];
    });
    for (const worker of this.pool.serving) {
      (worker.process as unknown as Partial<AdoptedProcess>).release?.();
    }
    // From here their ends are the new master's to tell.
    this.lifecycle.handOver();
    return {
      nextClientId: this.directory.nextClientId,
      positions,
      clients,
      memory: broker instanceof MemoryBroker ? broker.snapshot() : undefined,
      idempotency: broker instanceof MemoryBroker ? broker.snapshotKeys() : undefined,
    };
  }

  /** Requests under way (a hand-over waits for them). */
  private inFlight = 0;
  /** The 'request' listeners, while a hand-over answers 503 instead. */
  private requestListeners: ((...args: unknown[]) => void)[] = [];

  private answerUpgrading(): void {
    this.requestListeners = this.server.listeners('request') as ((...args: unknown[]) => void)[];
    this.server.removeAllListeners('request');
    this.server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      const reason = 'Server upgrading: try again';
      if (isEventStreamRequest(request)) {
        // An EventSource gives up on a 503: a stream that says when (docs/sse.md).
        response.writeHead(200, { ...REFUSED_STREAM_HEADERS, 'Retry-After': '0' });
        const code = RefusalCode.Unavailable;
        response.end(sseRefusalBody({ status: 503, code, reason, retryMs: MIN_STREAM_RETRY_MS }));
        return;
      }
      response.writeHead(503, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Retry-After': '0',
        Connection: 'close',
      });
      response.end(`${reason}\n`);
    });
  }

  /** The hand-over failed (the new master died): this master serves again. */
  async resume(): Promise<void> {
    this.server.removeAllListeners('request');
    for (const listener of this.requestListeners) this.server.on('request', listener);
    for (const worker of this.pool.serving) {
      (worker.process as unknown as Partial<AdoptedProcess>).reclaim?.();
    }
    this.channels.relay.unfreeze();
    this.lifecycle.resume();
    this.pool.thaw();
    this.server.removeAllListeners('error');
    const { port, host } = this.listenedOn ?? { port: 0, host: '127.0.0.1' };
    await this.listen(port, host);
  }

  /** A hot upgrade's new master takes on the old one's state, before it listens. */
  restore(state: MasterState): void {
    this.directory.continueFrom(state.nextClientId);
    const broker = this.channels.broker;
    if (state.memory !== undefined && broker instanceof MemoryBroker) broker.restore(state.memory);
    if (state.idempotency !== undefined && broker instanceof MemoryBroker) {
      broker.restoreKeys(state.idempotency);
    }
    this.handedPositions = new Map(state.positions);
    for (const client of state.clients) {
      const feed = this.channels.relay.adopt(client.channel, {
        format: client.format,
        presence: client.presence === true,
        position: this.handedPositions.get(client.channel),
      });
      this.expected.set(client.id, { client, feed });
    }
  }

  /**
   * A hot upgrade's old master passed over the publish pipe of client `clientId`'s worker
   * (handed-pipe.ts): its publications go there from now on, before the worker is
   * adopted. False (the pipe closed here) for a client this master does not expect.
   */
  takePipe(clientId: number, pipe: net.Socket): boolean {
    const handed = this.expected.get(clientId);
    if (handed === undefined || this.handedPipes.has(clientId)) {
      pipe.destroy();
      return false;
    }
    this.handedPipes.set(clientId, pipe);
    const { client } = handed;
    const meta = workerMeta(client.id, client.pid, client.user);
    this.channels.relay.admitted(handed.feed, handedPipe(pipe, meta), clientId);
    return true;
  }

  /** The handed pipe of a client this master will not serve: closed here. */
  private dropPipe(clientId: number): void {
    this.handedPipes.get(clientId)?.destroy();
    this.handedPipes.delete(clientId);
  }

  /**
   * The publish pipes of the clients a hot upgrade hands over, for the new master
   * (handed-pipe.ts): a forked worker's stdio[4], an adopted one's handed pipe (one
   * adopted without: none, its publications wait for its adoption).
   */
  publishPipes(): { client: number; pipe: net.Socket }[] {
    return this.pool.serving.flatMap((worker) => {
      const client = worker.client?.id;
      const process = worker.process as unknown as Partial<AdoptedProcess>;
      const pipe =
        process.handedPipe !== undefined
          ? process.handedPipe()
          : worker.process.stdio?.[PUBLISH_FD];
      return client !== undefined && pipe instanceof net.Socket && !pipe.destroyed
        ? [{ client, pipe }]
        : [];
    });
  }

  /** Clients of the old master whose workers have not attached yet. */
  get awaited(): number {
    return this.expected.size;
  }

  /**
   * Old master's clients whose workers have not attached and for which `drop(pid)`
   * holds: their feeds are closed. Returns their ids.
   */
  giveUpAwaited(drop: (pid: number) => boolean): number[] {
    const ids: number[] = [];
    for (const [id, { client, feed }] of this.expected) {
      if (!drop(client.pid)) continue;
      this.channels.relay.close(feed);
      this.expected.delete(id);
      this.dropPipe(id);
      ids.push(id);
      // Its end is this master's to tell (the old one holds it: ClientLifecycle.handOver),
      // with what is known: no close frame seen (1006), no exit status.
      this.lifecycle.adopted(this.lifecycle.factsOf(handedInfo(client)));
      this.lifecycle.ended(id, UNKNOWN_EXIT);
    }
    return ids;
  }

  /**
   * The client of a worker that reports over the control socket, from its adopt request
   * and what the old master handed over (that entry is taken: not awaited any more).
   */
  private takeHanded(request: AdoptRequest): {
    client: ClientInfo;
    connected: ClientConnected;
    feed: ClientFeed | undefined;
  } {
    const { client: facts } = request;
    const handed = this.expected.get(facts.id);
    this.expected.delete(facts.id);
    const client: ClientInfo = {
      id: facts.id,
      remote: facts.remote,
      channel: facts.channel,
      since: new Date(handed?.client.since ?? facts.since),
    };
    if (facts.user !== undefined) client.user = facts.user;
    if (handed?.client.transport !== undefined) client.transport = handed.client.transport;
    if (handed?.client.presence === true) client.presence = true;
    return { client, connected: this.lifecycle.factsOf(client, facts.address), feed: handed?.feed };
  }

  /** A worker re-attached over the control socket: this master serves it from now on. */
  adopt(request: AdoptRequest, process: AdoptedProcess): void {
    const { client: facts } = request;
    const { client, connected, feed: handedFeed } = this.takeHanded(request);
    const pipe = this.handedPipes.get(client.id);
    this.handedPipes.delete(client.id);
    if (pipe !== undefined) process.usePipe(pipe);
    const worker = this.pool.adopt(process as unknown as ChildProcess, client);
    this.directory.adopt(worker, client, facts.address);
    this.counts.reported(worker, request.pushed);
    if (request.command !== undefined) this.reaper.started(worker, request.command);
    const feed =
      handedFeed ??
      this.channels.relay.adopt(facts.channel, {
        format: facts.format,
        position: this.handedPositions.get(facts.channel),
      });
    process.send({ type: 'adopted', master: globalThis.process.pid });
    this.channels.relay.admitted(feed, worker, client.id);
    this.adoptedCount++;
    // Known to presence and the hooks from now on; its `ended` (exit code and signal
    // unknown: null, null) comes when its control connection closes.
    this.lifecycle.adopted(connected);
    // One line per worker at debug: a thousand adoptions log one summary at info.
    this.logger.debug(`Adopted the worker of client #${client.id}`, worker.meta);
  }

  /**
   * A worker too old to adopt was told to close its client with 1012 (control-server.ts,
   * drainUnadoptable): not awaited, its feed closed, and its client's end told as an
   * adopted client's is (the disconnect hook, the presence leave and leave frame): close
   * code 1012 by the server; exit code and signal unknown (null), as for adopted workers.
   * It is entered in presence first (adopted), so that the leave removes the entry the
   * old master wrote (with Redis) and a memory table stays consistent.
   */
  drained(request: AdoptRequest): void {
    const { connected, feed } = this.takeHanded(request);
    if (feed !== undefined) this.channels.relay.close(feed);
    this.dropPipe(connected.id);
    this.lifecycle.adopted(connected);
    this.lifecycle.ended(connected.id, UNKNOWN_EXIT, {
      code: CloseCode.ServiceRestart,
      side: 'server',
    });
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

/** A client the old master handed over, as this master's pool knows clients. */
function handedInfo(handed: HandedClient): ClientInfo {
  const client: ClientInfo = {
    id: handed.id,
    remote: handed.remote,
    channel: handed.channel,
    since: new Date(handed.since),
  };
  if (handed.user !== undefined) client.user = handed.user;
  if (handed.transport !== undefined) client.transport = handed.transport;
  if (handed.presence === true) client.presence = true;
  return client;
}
