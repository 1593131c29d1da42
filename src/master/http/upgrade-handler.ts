import type http from 'node:http';
import type { Socket } from 'node:net';
import { runsCommands, type HeaderPair, type ServerConfig } from '../../shared/config';
import type { ClientHandoff, RequestFacts } from '../../shared/ipc';
import {
  checkUpgradeRequest,
  upgradeResponse,
  type HandshakeVerdict,
} from '../../shared/protocol/handshake';
import { CloseCode } from '../../shared/protocol/constants';
import { encodeClose } from '../../shared/protocol/frame';
import { RECOVERY_RETRY_AFTER_S, type ChannelRelay } from '../channels/channel-relay';
import type { Gate } from '../auth/gate';
import type { Identity } from '../auth/identity';
import { redactHeaders, redactTarget, withoutCookie, withoutToken } from '../auth/token-source';
import { commandSubscription, subscriptionRequest } from '../channels/subscription-request';
import type { ClientDirectory } from '../clients/client-directory';
import type { Logger } from '../observability/logger';
import { handOffSocket } from '../pool/handoff';
import { WorkerState, type Worker } from '../pool/worker';
import type { Unavailable, WorkerPool } from '../pool/worker-pool';
import type { TrustedProxies } from './client-address';
import { identifyClient, type ClientIdentity } from './client-identity';
import type { ConnectionGuard } from './connection-guard';
import type { Refusal, Refusals } from './refusal';
import { RefusalCode } from '../../shared/protocol/reasons';
import { ok } from '../../shared/result';
import { describeRequest, NOT_FOUND } from './router';
import { ScriptDirectory, type ScriptRoute } from './script-dir';
import { splitRequestTarget } from '../../shared/url-path';
import { upgradeHeaders } from './extra-headers';
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

/** The upgrade options the flags ask for (--origin, --same-origin, --header*, --dir). */
export function upgradeOptions(config: ServerConfig): UpgradeOptions {
  return {
    allowedOrigins: config.origins,
    sameOrigin: config.sameOrigin,
    upgradeHeaders: upgradeHeaders(config.headers),
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

  async handle(req: http.IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    // Node leaves an upgraded socket without an error listener: a reset would crash us.
    socket.on('error', (error) => this.logger.debug(`client socket error: ${error.message}`));
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
    this.logger.debug(
      `Handshake from ${from}: ${req.method} ${shownTarget} HTTP/${req.httpVersion}`,
    );
    this.logger.debug(`Handshake headers: ${JSON.stringify(redactHeaders(req.headers))}`);
    const target = { socket, describe: describeRequest(from, req) };
    const refuse = (refusal: Refusal): void => this.refusals.refuse(target, refusal);

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
    const limited = (refusal: AddressRefusal): void => this.refusals.refuse(target, refusal, null);
    const overRate = this.options.limits?.rate(who.address, target.describe);
    if (overRate !== undefined) return limited(overRate);

    const verdict = this.check(req, who.proto === 'https');
    if (!verdict.ok) return refuse(verdict);
    const asked = this.options.commands
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
        return this.refusals.refuse(target, admission, line);
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
        return this.refusals.refuse(target, NOT_FOUND, line);
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
    // Subscribed (and recovered) while a worker is found: nothing published meanwhile is lost.
    const [worker, opened] = await Promise.all([
      this.pool.acquire(),
      this.relay.open(wanted.channel, { json: wanted.format === 'json', since: wanted.since }),
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
      return this.refusals.refuse(target, refusal, line);
    }
    if (worker === undefined) {
      giveUp();
      const retry = this.pool.unavailable()?.retryAfterS ?? 1;
      return refuse({
        status: 503,
        code: RefusalCode.NoWorker,
        reason: 'No worker available, try again later',
        headers: { 'Retry-After': String(retry) },
      });
    }
    if (socket.destroyed) {
      giveUp();
      this.logger.info(`Client ${remote} left during the handshake`);
      return;
    }
    this.logger.debug('Start a child process');
    socket.write(upgradeResponse(verdict.accept, this.options.upgradeHeaders), (error) => {
      if (error) {
        giveUp();
        this.logger.info(`Client ${remote} left during the handshake: ${error.message}`);
        return;
      }
      if (worker.state !== WorkerState.Reserved) {
        // Its worker died while the 101 went out: too late for an HTTP answer.
        giveUp();
        this.logger.warn(`Worker pid ${worker.pid} died during the handshake of ${remote}`);
        socket.end(encodeClose(CloseCode.InternalError, 'worker lost'));
        socket.destroySoon();
        return;
      }
      this.options.onUpgraded?.();
      const client = reservation.admit(worker, remote, wanted.channel, identity?.user);
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
      };
      this.handOff(worker, handoff, socket, head);
      this.relay.admitted(opened.feed, worker, id);
    });
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
