import type http from 'node:http';
import type { Socket } from 'node:net';
import { runsCommands, type HeaderPair, type ServerConfig } from '../../shared/config';
import type { ClientHandoff, RequestFacts, Transport } from '../../shared/ipc';
import {
  checkUpgradeRequest,
  headerValue,
  upgradeResponse,
  type HandshakeVerdict,
} from '../../shared/protocol/handshake';
import { CloseCode } from '../../shared/protocol/constants';
import { encodeClose } from '../../shared/protocol/frame';
import {
  RECOVERY_RETRY_AFTER_S,
  type ChannelRelay,
  type OpenedFeed,
} from '../channels/channel-relay';
import type { FeedFormat } from '../channels/published-frames';
import { checkOrigin } from '../../shared/protocol/origin';
import type { Gate } from '../auth/gate';
import type { Identity } from '../auth/identity';
import { redactHeaders, redactTarget, withoutCookie, withoutToken } from '../auth/token-source';
import {
  commandSubscription,
  sseSubscription,
  subscriptionRequest,
  type SubscriptionRequest,
} from '../channels/subscription-request';
import type { ClientDirectory, Reservation } from '../clients/client-directory';
import type { Logger } from '../observability/logger';
import { handOffSocket } from '../pool/handoff';
import { WorkerState, type Worker } from '../pool/worker';
import type { Unavailable, WorkerPool } from '../pool/worker-pool';
import type { TrustedProxies } from './client-address';
import { identifyClient, type ClientIdentity } from './client-identity';
import type { ConnectionGuard } from './connection-guard';
import type { Refusal, RefusalTarget, Refusals } from './refusal';
import { RefusalCode } from '../../shared/protocol/reasons';
import { ok } from '../../shared/result';
import { describeRequest, NOT_FOUND } from './router';
import { ScriptDirectory, type ScriptRoute } from './script-dir';
import { splitRequestTarget } from '../../shared/url-path';
import { httpHeaders, upgradeHeaders } from './extra-headers';
import { addressKey, type AddressLimits, type AddressRefusal } from './address-limits';

/** Seconds a client turned away for capacity is told to wait (Retry-After). */
const FULL_RETRY_AFTER_S = 5;

export interface UpgradeOptions {
  allowedOrigins: readonly string[];
  /** --trust-proxy: peers whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trustedProxies?: TrustedProxies;
  /** Told of every 101 sent (metrics). */
  onUpgraded?: () => void;
  /** --same-origin. */
  sameOrigin?: boolean;
  /** --header and --header-ws: added to every 101. */
  upgradeHeaders?: readonly HeaderPair[];
  /** --dir: each client runs the script its path names (404 when none). */
  scripts?: ScriptDirectory;
  /**
   * Clients run a command (--exec, --dir): the URL is the command's (PATH_INFO,
   * QUERY_STRING), so a path or query that is no channel request is not refused.
   */
  commands?: boolean;
  /** --connect-rate and --max-clients-per-ip (by the address --trust-proxy resolves). */
  limits?: AddressLimits;
  /**
   * Who may connect, to which channel (--auth-*, --private-channels): asked before the
   * 101; undefined when anyone may.
   */
  gate?: Gate;
  /** --auth-cookie: the cookie a token may come in (taken out of a command's HTTP_COOKIE). */
  authCookie?: string;
  /** While the instance drains: why no new client is taken (503 before any other check). */
  draining?: () => Unavailable | undefined;
  /** Told of every event stream handed to a worker (metrics). */
  onEventStream?: () => void;
  /** --header and --header-http: added to an event stream's response head. */
  httpHeaders?: readonly HeaderPair[];
}

/** What the upgrade handler works with, besides its options. */
export interface UpgradeParts {
  pool: WorkerPool;
  directory: ClientDirectory;
  relay: ChannelRelay;
  guard: ConnectionGuard;
  refusals: Refusals;
  logger: Logger;
}

/** A request being admitted, and how its transport checks it. */
interface AdmissionRequest {
  req: http.IncomingMessage;
  socket: Socket;
  /** Node's response object (an event-stream request): refusals go through it. */
  res?: http.ServerResponse;
  transport: Transport;
  /** The transport's own checks (RFC 6455, or the event stream's); `secure`: over TLS. */
  check: (secure: boolean) => HandshakeVerdict;
}

/** A client that passed every check and holds a place, a worker and a feed. */
interface Admission {
  req: http.IncomingMessage;
  socket: Socket;
  transport: Transport;
  who: ClientIdentity;
  remote: string;
  target: RefusalTarget;
  wanted: SubscriptionRequest;
  identity: Identity | undefined;
  route: ScriptRoute | undefined;
  reservation: Reservation;
  worker: Worker;
  opened: OpenedFeed;
  /** Frees the place, the feed and the worker (the client did not make it). */
  giveUp(): void;
}

/**
 * CORS for an event stream (EventSource obeys it). A page of another origin that the
 * origin rules allowed (--origin, --same-origin) may read it with its cookies; without
 * rules, any page may read it, but without credentials (`*`): the browser then sends no
 * cookie, so a token in a cookie (--auth-cookie) cannot be used by another site's page.
 */
function corsHeaders(origin: string | undefined, policySet: boolean): [string, string][] {
  if (origin === undefined) return [];
  if (!policySet) return [['Access-Control-Allow-Origin', '*']];
  return [
    ['Access-Control-Allow-Origin', origin],
    ['Access-Control-Allow-Credentials', 'true'],
    ['Vary', 'Origin'],
  ];
}

/** 503: no worker came in time; come back after `retryAfterS`. */
function noWorker(retryAfterS: number): Refusal {
  return {
    status: 503,
    code: RefusalCode.NoWorker,
    reason: 'No worker available, try again later',
    headers: { 'Retry-After': String(retryAfterS) },
  };
}

/** The upgrade options the flags ask for (--origin, --same-origin, --header*, --dir). */
export function upgradeOptions(config: ServerConfig): UpgradeOptions {
  return {
    allowedOrigins: config.origins,
    sameOrigin: config.sameOrigin,
    upgradeHeaders: upgradeHeaders(config.headers),
    httpHeaders: httpHeaders(config.headers),
    scripts: config.dir === undefined ? undefined : ScriptDirectory.ofRealRoot(config.dir),
    commands: runsCommands(config),
    authCookie: config.auth.cookie,
  };
}

/**
 * The WebSocket handshake and the hand-off: checks the request (RFC 6455), holds a
 * place for the client, takes a ready worker, sends the 101 and, once it is flushed,
 * passes the socket to the worker. Every refusal goes through Refusals.
 */
export class UpgradeHandler {
  private readonly pool: WorkerPool;
  private readonly directory: ClientDirectory;
  private readonly relay: ChannelRelay;
  private readonly guard: ConnectionGuard;
  private readonly refusals: Refusals;
  private readonly logger: Logger;

  constructor(
    private options: UpgradeOptions,
    parts: UpgradeParts,
  ) {
    ({
      pool: this.pool,
      directory: this.directory,
      relay: this.relay,
      guard: this.guard,
      refusals: this.refusals,
      logger: this.logger,
    } = parts);
  }

  /** --origin, changed while running (SIGHUP): the next handshakes are checked against it. */
  setAllowedOrigins(origins: readonly string[]): void {
    this.options = { ...this.options, allowedOrigins: origins };
  }

  /**
   * The handshake checks alone (also for a request that carries Upgrade but did not
   * upgrade). `secure`: the client came over TLS (a trusted proxy says so), so a Host
   * without a port means 443 to --same-origin.
   */
  check(req: http.IncomingMessage, secure = false): HandshakeVerdict {
    return checkUpgradeRequest(
      { method: req.method ?? '', httpVersion: req.httpVersion, headers: req.headers },
      {
        allowedOrigins: this.options.allowedOrigins,
        sameOrigin: this.options.sameOrigin,
        secure,
      },
    );
  }

  /** A WebSocket handshake (Node's `upgrade` event): admitted, the 101, the hand-off. */
  async handle(req: http.IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    // Node leaves an upgraded socket without an error listener: a reset would crash us.
    socket.on('error', (error) => this.logger.debug(`client socket error: ${error.message}`));
    let accept = '';
    const admitted = await this.admit({
      req,
      socket,
      transport: 'websocket',
      check: (secure) => {
        const verdict = this.check(req, secure);
        if (verdict.ok) accept = verdict.accept;
        return verdict;
      },
    });
    if (admitted === undefined) return;
    const { worker, remote } = admitted;
    this.logger.debug('Start a child process');
    socket.write(upgradeResponse(accept, this.options.upgradeHeaders), (error) => {
      if (error) {
        admitted.giveUp();
        this.logger.info(`Client ${remote} left during the handshake: ${error.message}`);
        return;
      }
      if (worker.state !== WorkerState.Reserved) {
        // Its worker died while the 101 went out: too late for an HTTP answer.
        admitted.giveUp();
        this.logger.warn(`Worker pid ${worker.pid} died during the handshake of ${remote}`);
        socket.end(encodeClose(CloseCode.InternalError, 'worker lost'));
        socket.destroySoon();
        return;
      }
      this.options.onUpgraded?.();
      this.complete(admitted, head, {});
    });
  }

  /**
   * An event-stream request (SSE, a GET with `Accept: text/event-stream` or
   * `?transport=sse`): admitted exactly as a handshake is (origin, tokens, limits,
   * recovery), refused through the same Refusals; then the socket goes to a worker as
   * it is, and the worker writes the response head and the events.
   */
  async handleEventStream(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const socket = req.socket;
    const origin = headerValue(req.headers.origin);
    const admitted = await this.admit({
      req,
      socket,
      res,
      transport: 'sse',
      check: (secure) => this.checkEventStream(req, secure),
    });
    if (admitted === undefined) return;
    const { worker, remote } = admitted;
    if (worker.state !== WorkerState.Reserved || socket.destroyed) {
      admitted.giveUp();
      if (socket.destroyed) this.logger.info(`Client ${remote} left during the handshake`);
      else this.refusals.refuse(admitted.target, noWorker(1));
      return;
    }
    this.options.onEventStream?.();
    const cors = corsHeaders(origin, this.originPolicySet());
    const extra = (this.options.httpHeaders ?? []).map(([n, v]): [string, string] => [n, v]);
    this.complete(admitted, Buffer.alloc(0), {
      transport: 'sse',
      responseHeaders: [...cors, ...extra],
    });
  }

  /** Whether --origin or --same-origin names who may connect. */
  private originPolicySet(): boolean {
    return this.options.allowedOrigins.length > 0 || this.options.sameOrigin === true;
  }

  /** An event-stream request's own checks: GET, a Host, the origin rules. */
  private checkEventStream(req: http.IncomingMessage, secure: boolean): HandshakeVerdict {
    if (req.method !== 'GET') {
      const reason = 'An event stream needs GET';
      const code = RefusalCode.MethodNotAllowed;
      return { ok: false, status: 405, code, reason, headers: { Allow: 'GET' } };
    }
    const host = headerValue(req.headers.host);
    if (req.httpVersion === '1.1' && host === undefined) {
      return {
        ok: false,
        status: 400,
        code: RefusalCode.BadRequest,
        reason: 'Missing Host header',
      };
    }
    const origin = checkOrigin(headerValue(req.headers.origin), host, {
      allowed: this.options.allowedOrigins,
      sameOrigin: this.options.sameOrigin,
      secure,
    });
    if (!origin.ok) {
      return { ok: false, status: 403, code: RefusalCode.OriginNotAllowed, reason: origin.reason };
    }
    return { ok: true, accept: '' };
  }

  /**
   * Every check a client passes before it gets a worker, for both transports: the
   * connect rate, the request's own checks, the channel and position asked for, the
   * gate (tokens, --auth-url, private channels), --dir's script, --max-clients-per-ip,
   * --max-clients, a worker, and the channel's feed (with a returning client's
   * history). Each refusal is answered here; undefined then.
   */
  private async admit(request: AdmissionRequest): Promise<Admission | undefined> {
    const { req, socket, res, transport } = request;
    this.guard.requestArrived(socket);
    const who = identifyClient(
      socket.remoteAddress,
      socket.remotePort,
      req.headers,
      this.options.trustedProxies,
    );
    const remote = who.remote;
    const from = who.via === undefined ? remote : `${remote} (via ${who.via}, ${who.proto})`;
    // Never a token or a cookie in a log line: the target and the headers are redacted.
    const shownTarget = redactTarget(req.url ?? '');
    const kind = transport === 'sse' ? 'Event stream' : 'Handshake';
    this.logger.debug(`${kind} from ${from}: ${req.method} ${shownTarget} HTTP/${req.httpVersion}`);
    if (this.logger.isDebugEnabled()) {
      this.logger.debug(`${kind} headers: ${JSON.stringify(redactHeaders(req.headers))}`);
    }
    const target: RefusalTarget = {
      socket,
      res,
      describe: describeRequest(from, req),
      eventStream: transport === 'sse',
    };
    const refuse = (refusal: Refusal): undefined => void this.refusals.refuse(target, refusal);

    // Draining: the client should go to another instance; nothing else is worth checking.
    const draining = this.options.draining?.();
    if (draining !== undefined) {
      return refuse({
        status: 503,
        code: RefusalCode.Unavailable,
        reason: draining.reason,
        headers: { 'Retry-After': String(draining.retryAfterS) },
      });
    }
    // Logged by the limits, once per burst per address.
    const limited = (refusal: AddressRefusal): undefined =>
      void this.refusals.refuse(target, refusal, null);
    const overRate = this.options.limits?.rate(who.address, target.describe);
    if (overRate !== undefined) return limited(overRate);

    const verdict = request.check(who.proto === 'https');
    if (!verdict.ok) return refuse(verdict);
    const commands = this.options.commands === true;
    const asked =
      transport === 'sse'
        ? sseSubscription(req.url ?? '/', headerValue(req.headers['last-event-id']), commands)
        : commands
          ? ok(commandSubscription(req.url ?? '/'))
          : subscriptionRequest(req.url ?? '/');
    if (!asked.ok) return refuse({ status: 400, ...asked.error });
    const wanted = asked.value;
    let identity: Identity | undefined;
    const gate = this.options.gate;
    if (gate !== undefined) {
      const admission = await gate.admit({
        target: req.url ?? '/',
        headers: req.headers,
        address: who.address,
        channel: wanted.channel,
      });
      if (!admission.ok) {
        const { status, reason, detail } = admission;
        const line = `${status} for ${target.describe}: ${reason}${detail === undefined ? '' : ` (${detail})`}`;
        return void this.refusals.refuse(target, admission, line);
      }
      if (socket.destroyed) {
        this.logger.info(`Client ${remote} left during the handshake`);
        return;
      }
      identity = admission.identity;
    }
    let route: ScriptRoute | undefined;
    if (this.options.scripts !== undefined) {
      const script = await this.options.scripts.resolve(splitRequestTarget(req.url ?? '/').path);
      if (!script.ok) {
        const line = `404 for ${target.describe}: no script (${script.error})`;
        return void this.refusals.refuse(target, NOT_FOUND, line);
      }
      route = script.value;
    }
    // Checked and reserved with nothing awaited between: no handshake slips past the count.
    const overAddress = this.options.limits?.perAddress(who.address, target.describe);
    if (overAddress !== undefined) return limited(overAddress);
    const reservation = this.directory.reserve(addressKey(who.address));
    if (reservation === undefined) {
      return refuse({
        status: 503,
        code: RefusalCode.ServerFull,
        reason: `Server full (${this.directory.load} clients)`,
        headers: { 'Retry-After': String(FULL_RETRY_AFTER_S) },
      });
    }
    const unavailable = this.pool.unavailable();
    if (unavailable !== undefined) {
      reservation.cancel();
      return refuse({
        status: 503,
        code: RefusalCode.Unavailable,
        reason: unavailable.reason,
        headers: { 'Retry-After': String(unavailable.retryAfterS) },
      });
    }

    this.logger.debug('Creating client...');
    const format: FeedFormat = transport === 'sse' ? 'sse' : wanted.format;
    // Subscribed (and recovered) while a worker is found: nothing published meanwhile is lost.
    const [worker, opened] = await Promise.all([
      this.pool.acquire(),
      this.relay.open(wanted.channel, { format, since: wanted.since, presence: wanted.presence }),
    ]);
    const giveUp = (): void => {
      reservation.cancel();
      this.relay.close(opened.feed);
      if (worker !== undefined) this.pool.release(worker);
    };
    if (opened.unavailable !== undefined) {
      giveUp();
      // The client hears no more than that (the detail names the backplane): the log has it.
      const refusal = {
        status: 503,
        code: RefusalCode.HistoryUnavailable,
        reason: 'History unavailable, cannot recover now: come back with the same since',
        headers: { 'Retry-After': String(RECOVERY_RETRY_AFTER_S) },
      };
      const line = `503 for ${target.describe}: ${opened.unavailable}`;
      return void this.refusals.refuse(target, refusal, line);
    }
    if (worker === undefined) {
      giveUp();
      const retry = this.pool.unavailable()?.retryAfterS ?? 1;
      return refuse(noWorker(retry));
    }
    if (socket.destroyed) {
      giveUp();
      this.logger.info(`Client ${remote} left during the handshake`);
      return;
    }
    return {
      req,
      socket,
      transport,
      who,
      remote,
      target,
      wanted,
      identity,
      route,
      reservation,
      worker,
      opened,
      giveUp,
    };
  }

  /** The client is in: its id, its worker, the hand-off, its feed attached. */
  private complete(admitted: Admission, head: Buffer, extra: Partial<ClientHandoff>): void {
    const { req, socket, who, remote, wanted, identity, route, reservation, worker, opened } =
      admitted;
    const gate = this.options.gate;
    const client = reservation.admit(worker, remote, wanted.channel, identity?.user);
    if (admitted.transport === 'sse') client.transport = 'sse';
    if (wanted.presence === true) client.presence = true;
    this.pool.assign(worker, client);
    const { id } = client;
    const facts = requestFacts(req, socket, who, route);
    const handoff: Omit<ClientHandoff, 'head'> = {
      type: 'client',
      id,
      remote,
      request: gate === undefined ? facts : withoutSecrets(facts, this.options.authCookie),
      command: route === undefined ? undefined : [route.file],
      channel: wanted.channel,
      format: wanted.format,
      position: opened.position,
      recovery: opened.recovery,
      ...(identity === undefined
        ? {}
        : { user: identity.user, claims: identity.claims, expiresAt: identity.expiresAt }),
      ...extra,
    };
    this.handOff(worker, handoff, socket, head);
    this.relay.admitted(opened.feed, worker, id);
  }

  private handOff(
    worker: Worker,
    handoff: Omit<ClientHandoff, 'head'>,
    socket: Socket,
    head: Buffer,
  ): void {
    const { id } = handoff;
    const meta = worker.meta;
    handOffSocket(worker.process, socket, handoff, head).then(
      () => this.logger.info(`Client #${id} is successfully created!`, meta),
      (error: Error) => {
        this.logger.error(`Hand-off to worker failed: ${error.message}`, meta);
        socket.destroy();
        this.pool.terminate(worker, 'SIGKILL');
      },
    );
  }
}

/** The connection's facts a worker needs (an --exec command's CGI environment). */
export function requestFacts(
  req: http.IncomingMessage,
  socket: Socket,
  who: ClientIdentity,
  route?: ScriptRoute,
): RequestFacts {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  }
  return {
    remoteAddress: who.address,
    remotePort: who.port,
    https: who.proto === 'https',
    serverPort: socket.localPort ?? 0,
    url: req.url ?? '/',
    method: req.method ?? 'GET',
    httpVersion: req.httpVersion,
    headers,
    serverName: socket.localAddress ?? '',
    scriptName: route?.scriptName,
    pathInfo: route?.pathInfo,
  };
}

/**
 * The facts without what authenticated the client, for a worker and its command: no
 * `token` query parameter (REQUEST_URI, QUERY_STRING), no Authorization header, no
 * --auth-cookie cookie. The identity travels apart (user, claims).
 */
export function withoutSecrets(facts: RequestFacts, cookie: string | undefined): RequestFacts {
  const headers: [string, string][] = [];
  for (const [name, value] of facts.headers) {
    const lower = name.toLowerCase();
    if (lower === 'authorization') continue;
    if (lower === 'cookie' && cookie !== undefined) {
      const rest = withoutCookie(value, cookie);
      if (rest !== undefined) headers.push([name, rest]);
      continue;
    }
    headers.push([name, value]);
  }
  return { ...facts, url: withoutToken(facts.url), headers };
}
