import {
  reconnectDelay,
  refusedStreamDelay,
  restartDelay,
  retryAfterMs,
  type BackoffOptions,
} from './backoff';
import { channelOfPath } from './channel';
import { systemClock, type Clock } from './clock';
import { CLOSE_SERVICE_RESTART, NO_RECONNECT_CODES, restartHintMs } from './close-codes';
import { Emitter } from './emitter';
import { readFrame, type Position } from './frames';
import {
  eventSourceTransport,
  fallbackTransport,
  globalEventSource,
  globalWebSocket,
  webSocketTransport,
  type Connection,
  type EventSourceConstructor,
  type Transport,
  type WebSocketConstructor,
} from './transport';

/**
 * idle: not connected yet; connecting: a connection is being opened; open: connected;
 * reconnecting: waiting to connect again; closing: quit or close() sent, waiting for
 * the end; closed: ended, and no reconnect (quit(), close(), or a final close code).
 */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

export interface StateEvent {
  state: ClientState;
  previous: ClientState;
  /** Reconnects since the last good connection (0: the first try). */
  attempt: number;
  /** reconnecting, closed: the close code and reason of the connection that ended. */
  code?: number;
  reason?: string;
  /** reconnecting: whether that connection had opened (false: the handshake failed). */
  wasOpen?: boolean;
  /** reconnecting: milliseconds until the next try. */
  delayMs?: number;
  /** reconnecting: the wait is the server's: its Retry-After (from GET /healthz), or a
   * refused event stream's retry. */
  retryAfter?: boolean;
  /** connecting, open: the transport of this connection, 'websocket' or 'sse'. */
  transport?: string;
}

export interface PubEvent {
  /** This client's channel, or "*" for a broadcast to every channel. */
  channel: string;
  epoch: string;
  offset: number;
  data: string;
  /** A publication of this channel in another epoch than the client had: a new stream. */
  restarted: boolean;
}

export interface RecoveryEvent {
  /** True: the publications since the position follow, `count` of them. */
  recovered: boolean;
  count: number;
  /** Why not, when not recovered ("epoch changed", ...). */
  reason: string | undefined;
  /** Where the client stands now. */
  position: Position | null;
}

export interface GapEvent {
  channel: string;
  epoch: string;
  /** The first and last offsets missing. */
  from: number;
  to: number;
  /** "server": the server said they will never arrive; the client goes on past them.
   * "client": a publication skipped them; the client reconnects to recover them. */
  source: 'server' | 'client';
  reason: string;
}

export interface PushClientEvents {
  state: StateEvent;
  /** A push: the hello, demo pushes, a command's output. */
  push: { data: string };
  /** A message sent to this client alone. */
  direct: { data: string };
  /** A publication, delivered once and in order for this client's channel. */
  pub: PubEvent;
  /** A repeat of a publication already delivered (dropped). */
  duplicate: { channel: string; epoch: string; offset: number };
  /** A fresh subscription: where the channel stands. */
  position: { channel: string; epoch: string; offset: number };
  /** The answer to coming back with a position. */
  recovery: RecoveryEvent;
  gap: GapEvent;
  /** A frame of a type this client does not know. */
  message: { text: string };
  /** A problem that is not a close: the token function failed. */
  error: { error: unknown };
}

/** What the client needs of fetch (GET /healthz). */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; cache: 'no-store' },
) => Promise<{ status: number; headers: { get(name: string): string | null } }>;

export interface PushClientOptions {
  /** The WebSocket class (default: the global one; Node 20 has none: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** Another transport than WebSockets (the WebSocket option is then unused). */
  transport?: Transport;
  /**
   * The EventSource class for the Server-Sent Events fall-back (default: the global
   * one, in browsers); false: WebSockets only. With both, a WebSocket that cannot open
   * is followed by an event stream (see fallbackTransport).
   */
  EventSource?: EventSourceConstructor | false;
  /** 'sse': Server-Sent Events only (a receive-only client: send() and quit words do not apply). */
  only?: 'sse';
  /**
   * Sent as ?token=. A function is asked before every connection (so a reconnect after
   * close code 4001, "token expired", gets a fresh one).
   */
  token?: string | (() => string | Promise<string>);
  /** Start from this position (a client that kept it elsewhere). */
  position?: Position;
  /** Back-off: ceilings in ms (500, 30000), and how long a connection must stay up to
   * count as good and start the back-off afresh (stableMs, 5000). */
  backoff?: BackoffOptions & { stableMs?: number };
  /** A connection not open by then is dropped and tried again (ms, 10000). */
  openTimeoutMs?: number;
  /** Where to ask for Retry-After when a handshake fails (default: /healthz of the
   * server); null: never ask. */
  healthUrl?: string | null;
  /** fetch for the health check (default: the global one). */
  fetch?: FetchLike;
  clock?: Clock;
  /** Draws for the jitter (default Math.random). */
  random?: () => number;
}

const DEFAULT_STABLE_MS = 5000;
const DEFAULT_OPEN_TIMEOUT_MS = 10000;
const HEALTH_TIMEOUT_MS = 3000;
/** Spread over clients told the same Retry-After. */
const RETRY_AFTER_SPREAD_MS = 1000;

interface Waiting {
  at: number;
  timer: unknown;
}

/**
 * A client of one channel of a push-websocket server: connects with JSON frames, keeps
 * its position (epoch and offset), comes back by itself after a drop with that
 * position, and delivers each publication of its channel once and in order.
 *
 *   const client = new PushClient('ws://127.0.0.1:5001/news', { WebSocket });
 *   client.on('pub', (pub) => console.log(pub.offset, pub.data));
 *   client.connect();
 */
export class PushClient extends Emitter<PushClientEvents> {
  readonly channel: string;
  private readonly base: URL;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly healthUrl: string | null;
  private readonly fetch: FetchLike | undefined;
  private current:
    | { connection: Connection | undefined; openedAt: number; transport: string | undefined }
    | undefined;
  private openTimer: unknown;
  private retry: Waiting | undefined;
  private at: Position | null;
  private attempt = 0;
  private stopped = false;
  private currentState: ClientState = 'idle';

  constructor(
    url: string | URL,
    private readonly options: PushClientOptions = {},
  ) {
    super();
    const base = new URL(url);
    if (base.protocol === 'http:') base.protocol = 'ws:';
    else if (base.protocol === 'https:') base.protocol = 'wss:';
    if (base.protocol !== 'ws:' && base.protocol !== 'wss:') {
      throw new TypeError(`not a ws:, wss:, http: or https: URL: ${base.protocol}`);
    }
    const named = channelOfPath(base.pathname);
    if ('error' in named) throw new TypeError(`not a channel: ${named.error}`);
    this.channel = named.channel;
    base.pathname = named.channel;
    base.hash = '';
    this.base = base;
    this.transport = options.transport ?? defaultTransport(options);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.at = options.position ? { ...options.position } : null;
    this.fetch = options.fetch ?? globalThis.fetch;
    if (options.healthUrl !== undefined) this.healthUrl = options.healthUrl;
    else {
      const health = new URL('/healthz', base);
      health.protocol = base.protocol === 'wss:' ? 'https:' : 'http:';
      this.healthUrl = health.href;
    }
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The last position of this channel the client has (where a reconnect resumes). */
  get position(): Position | null {
    return this.at === null ? null : { ...this.at };
  }

  /**
   * Connects (idle, closing or closed), or connects now instead of waiting
   * (reconnecting). Nothing while connecting or open.
   */
  connect(): this {
    const state = this.currentState;
    if (state === 'connecting' || state === 'open') return this;
    this.cancelRetry();
    this.detach();
    this.stopped = false;
    this.dial();
    return this;
  }

  /** Sends a text message; false when not open. */
  send(text: string): boolean {
    const connection = this.current?.connection;
    if (connection === undefined || !connection.isOpen) return false;
    connection.send(text);
    return true;
  }

  /**
   * Ends this client as the server's protocol says: sends "quit" (or another of the
   * server's --quit-words; the server ends the worker and closes), or when not open,
   * stops connecting. No reconnect after it.
   */
  quit(word = 'quit'): void {
    if (this.stopped) return;
    if (this.send(word)) {
      this.stopped = true;
      this.cancelRetry();
      this.setState({ state: 'closing' });
      return;
    }
    this.stop();
  }

  /** Closes the connection (code 1000 unless given) and stops. No reconnect after it. */
  close(code = 1000, reason = ''): void {
    if (this.stopped && this.currentState !== 'closing') return;
    const connection = this.current?.connection;
    if (connection !== undefined && connection.isOpen) {
      this.stopped = true;
      this.cancelRetry();
      connection.close(code, reason);
      if (this.currentState !== 'closing') this.setState({ state: 'closing' });
      return;
    }
    this.stop();
  }

  /** Not open: drop any connection being opened and any wait; closed at once. */
  private stop(): void {
    this.stopped = true;
    this.cancelRetry();
    const connection = this.current?.connection;
    this.detach();
    connection?.close();
    if (this.currentState !== 'closed') this.setState({ state: 'closed' });
  }

  private dial(): void {
    const attempt = {
      connection: undefined as Connection | undefined,
      openedAt: 0,
      transport: this.transport.name,
    };
    this.current = attempt;
    this.setState({ state: 'connecting', transport: this.transport.name });
    this.openTimer = this.clock.setTimeout(() => {
      if (this.current !== attempt || attempt.openedAt !== 0) return;
      // Not open in time: abandon it (its close may never come) and try again.
      this.detach();
      attempt.connection?.close();
      this.ended(attempt, 1006, 'open timeout');
    }, this.options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS);
    const token = this.options.token;
    if (typeof token !== 'function') {
      this.open(attempt, token);
      return;
    }
    Promise.resolve()
      .then(token)
      .then(
        (fresh) => {
          if (this.current === attempt) this.open(attempt, fresh);
        },
        (error: unknown) => {
          if (this.current !== attempt) return;
          this.emit('error', { error });
          this.detach();
          this.ended(attempt, 1006, 'no token');
        },
      );
  }

  private open(attempt: NonNullable<PushClient['current']>, token: string | undefined): void {
    attempt.connection = this.transport.connect(this.socketUrl(token), {
      open: () => {
        if (this.current !== attempt) return;
        attempt.openedAt = this.clock.now();
        this.clock.clearTimeout(this.openTimer);
        this.setState({ state: 'open', transport: attempt.transport });
      },
      message: (text) => {
        if (this.current === attempt) this.receive(text);
      },
      close: (code, reason, retryMs) => {
        if (this.current !== attempt) return;
        this.detach();
        this.ended(attempt, code, reason, retryMs);
      },
    });
  }

  /** The socket URL: the channel, JSON frames, where to resume, the token. */
  socketUrl(token?: string): string {
    const url = new URL(this.base.href);
    url.searchParams.set('format', 'json');
    if (this.at !== null) {
      url.searchParams.set('since', String(this.at.offset));
      url.searchParams.set('epoch', this.at.epoch);
    } else {
      url.searchParams.delete('since');
      url.searchParams.delete('epoch');
    }
    if (token !== undefined) url.searchParams.set('token', token);
    return url.href;
  }

  /** Forgets the current connection: whatever it reports from now on is ignored. */
  private detach(): void {
    this.current = undefined;
    this.clock.clearTimeout(this.openTimer);
  }

  /**
   * A connection ended (it is detached already): closed, or wait and come back;
   * `retryMs`: the server said how long to stay away (a refused event stream).
   */
  private ended(
    attempt: { openedAt: number },
    code: number,
    reason: string,
    retryMs?: number,
  ): void {
    const wasOpen = attempt.openedAt !== 0;
    if (this.stopped || NO_RECONNECT_CODES.has(code)) {
      this.stopped = true;
      this.setState({ state: 'closed', code, reason });
      return;
    }
    const stableMs = this.options.backoff?.stableMs ?? DEFAULT_STABLE_MS;
    if (wasOpen && this.clock.now() - attempt.openedAt >= stableMs) this.attempt = 0;
    // A drain's 1012 says when to come back (to another instance, behind a balancer).
    const hint = code === CLOSE_SERVICE_RESTART ? restartHintMs(reason) : undefined;
    const backoffMs =
      hint === undefined
        ? reconnectDelay(this.attempt, this.random, this.options.backoff)
        : restartDelay(hint, this.random);
    // A refused stream said when: that is the server's answer, /healthz need not be asked.
    const delayMs =
      retryMs === undefined
        ? backoffMs
        : refusedStreamDelay(retryMs, backoffMs, this.random, this.options.backoff);
    this.attempt++;
    const ending = { code, reason, wasOpen };
    this.waitThenConnect(delayMs, ending, delayMs > backoffMs);
    if (!wasOpen && retryMs === undefined) void this.askRetryAfter(ending);
  }

  private waitThenConnect(
    delayMs: number,
    ending: { code: number; reason: string; wasOpen: boolean },
    retryAfter = false,
  ): void {
    this.cancelRetry();
    const waiting: Waiting = { at: this.clock.now() + delayMs, timer: undefined };
    waiting.timer = this.clock.setTimeout(() => {
      if (this.retry !== waiting) return;
      this.retry = undefined;
      this.dial();
    }, delayMs);
    this.retry = waiting;
    this.setState({ state: 'reconnecting', ...ending, delayMs, retryAfter });
  }

  private cancelRetry(): void {
    if (this.retry !== undefined) this.clock.clearTimeout(this.retry.timer);
    this.retry = undefined;
  }

  /**
   * A browser WebSocket cannot read the 503 that turned it away, nor its Retry-After;
   * GET /healthz answers 503 with the same Retry-After while the server backs off or
   * drains. Honoured when longer than the wait already set.
   */
  private async askRetryAfter(ending: {
    code: number;
    reason: string;
    wasOpen: boolean;
  }): Promise<void> {
    const waiting = this.retry;
    // Called as a plain function: a browser's fetch called as a method of another
    // object throws "Illegal invocation".
    const fetch = this.fetch;
    if (this.healthUrl === null || fetch === undefined || waiting === undefined) return;
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(), HEALTH_TIMEOUT_MS);
    try {
      const response = await fetch(this.healthUrl, {
        cache: 'no-store',
        signal: controller.signal,
      });
      if (response.status !== 503) return;
      const ms = retryAfterMs(response.headers.get('Retry-After'), this.clock.now());
      if (ms === undefined || this.retry !== waiting || waiting.at - this.clock.now() >= ms) return;
      this.waitThenConnect(ms + this.random() * RETRY_AFTER_SPREAD_MS, ending, true);
    } catch {
      // Unreachable, or no answer in time: the back-off stands.
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  private receive(text: string): void {
    const { reading, position } = readFrame(text, this.channel, this.at);
    this.at = position;
    switch (reading.kind) {
      case 'push':
        return this.emit('push', { data: reading.data });
      case 'direct':
        return this.emit('direct', { data: reading.data });
      case 'pub': {
        const { channel, epoch, offset, data, restarted } = reading;
        return this.emit('pub', { channel, epoch, offset, data, restarted });
      }
      case 'duplicate': {
        const { channel, epoch, offset } = reading;
        return this.emit('duplicate', { channel, epoch, offset });
      }
      case 'position': {
        const { channel, epoch, offset } = reading;
        return this.emit('position', { channel, epoch, offset });
      }
      case 'recovery': {
        const { recovered, count, reason } = reading;
        return this.emit('recovery', { recovered, count, reason, position: this.position });
      }
      case 'gap': {
        const { channel, epoch, from, to, reason } = reading;
        return this.emit('gap', { channel, epoch, from, to, reason, source: 'server' });
      }
      case 'skipped': {
        const { channel, epoch, from, to } = reading;
        this.emit('gap', { channel, epoch, from, to, reason: 'skipped', source: 'client' });
        return this.recoverGap();
      }
      case 'other':
        return this.emit('message', { text: reading.text });
      default:
        return assertNever(reading);
    }
  }

  /**
   * Publications were skipped: leave this connection (what else it sends is ignored)
   * and come back with the position, so that the server replays from there.
   */
  private recoverGap(): void {
    const attempt = this.current;
    if (attempt === undefined || this.stopped) return;
    this.detach();
    attempt.connection?.close(1000, 'recovering a gap');
    this.ended(attempt, 1000, 'recovering a gap');
  }

  private setState(
    change: Omit<StateEvent, 'previous' | 'attempt'> & Partial<Pick<StateEvent, 'attempt'>>,
  ): void {
    const previous = this.currentState;
    this.currentState = change.state;
    this.emit('state', { ...change, previous, attempt: this.attempt });
  }
}

/** WebSockets, with the EventSource fall-back where there is one (or SSE alone). */
function defaultTransport(options: PushClientOptions): Transport {
  const WebSocketClass = options.WebSocket ?? globalWebSocket();
  const EventSourceClass =
    options.EventSource === false ? undefined : (options.EventSource ?? globalEventSource());
  const sse = EventSourceClass === undefined ? undefined : eventSourceTransport(EventSourceClass);
  if (options.only === 'sse' || (WebSocketClass === undefined && sse !== undefined)) {
    if (sse === undefined)
      throw new TypeError('no EventSource here: pass one as options.EventSource');
    return sse;
  }
  if (WebSocketClass === undefined) {
    throw new TypeError('no WebSocket here: pass one (e.g. the `ws` package) as options.WebSocket');
  }
  const webSocket = webSocketTransport(WebSocketClass);
  return sse === undefined ? webSocket : fallbackTransport(webSocket, sse);
}

function assertNever(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
