import type { Socket } from 'node:net';
import type { LogLevel, WorkerConfig } from '../src/shared/config';
import type { ClientHandoff } from '../src/shared/ipc';
import { APP_CLOSE_REASON, AppCloseCode } from '../src/shared/protocol/close-codes';
import { DEFAULT_QUIT_WORDS, quitWord } from '../src/shared/quit-words';
import { FrameText } from './frames';
import { Lifetimes } from './lifetimes';
import type { ClientSink, PushSource } from './push-source';
import type { ClientEndpoint } from './client-endpoint';
import {
  WebSocketEndpoint,
  type CloseInfo,
  type WebSocketEndpointEvents,
} from './websocket-endpoint';

export interface SessionEvents {
  /** The client asked to end ("quit"/"exit"): the master kills this worker. */
  onQuit(word: string): void;
  log(level: LogLevel, message: string): void;
  /** The client and every source are gone; `info`: how the connection ended. */
  onEnded(info: CloseInfo): void;
  /** The first frame went to the client (once; the master times it from the 101). */
  onFirstPush?(): void;
  /** Bytes were read from or written to the client. */
  onActivity?(): void;
}

/** With keepalive off, a client may stay over --max-buffered this long. */
const DEFAULT_OVER_BUFFERED_MS = 30_000;

/** A client that takes nothing for one ping interval is not reading at all. */
export function overBufferedMs(config: WorkerConfig): number {
  return config.pingInterval > 0 ? config.pingInterval * 1000 : DEFAULT_OVER_BUFFERED_MS;
}

/** setTimeout's longest delay (about 24.8 days): a later expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * An event-stream endpoint, its module loaded only by a worker that serves one: a
 * WebSocket worker never reads its code (the build keeps it in a file of its own).
 */
function sseEndpoint(
  socket: Socket,
  handoff: ClientHandoff,
  config: WorkerConfig,
  overMs: number,
  events: WebSocketEndpointEvents,
): ClientEndpoint {
  type SseModule = typeof import('./sse-endpoint');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded for SSE only
  const { SseEndpoint, SSE_RETRY_MS } = require('./sse-endpoint') as SseModule;
  return new SseEndpoint(
    socket,
    {
      pingIntervalMs: config.pingInterval * 1000,
      maxBuffered: config.maxBuffered,
      overBufferedMs: overMs,
      // HTTP/1.0 knows no chunks: its body ends with the connection.
      chunked: handoff.request.httpVersion !== '1.0',
      headers: handoff.responseHeaders ?? [],
      retryMs: SSE_RETRY_MS,
      clientId: handoff.id,
    },
    events,
  );
}

/** Longest client text quoted in the "Performing action" log line. */
const SHOWN_CHARS = 200;

/**
 * One client's session in its worker: the socket's endpoint joined to the push
 * sources. Client text goes to the first source that takes it (the --exec command),
 * else it is logged as the original did ("Performing action"). A quit word ends it.
 */
export class ClientSession {
  private readonly endpoint: ClientEndpoint;
  private readonly frames: FrameText;
  private pushed = 0;
  private quitting = false;
  private ending: Promise<void> | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private readonly lifetimes: Lifetimes;

  constructor(
    readonly handoff: ClientHandoff,
    socket: Socket,
    config: WorkerConfig,
    private readonly sources: PushSource[],
    private readonly events: SessionEvents,
    private readonly quitWords: readonly string[] = DEFAULT_QUIT_WORDS,
  ) {
    this.frames = new FrameText(handoff.format);
    this.lifetimes = new Lifetimes({
      maxLifetime: config.maxLifetime,
      idleTimeout: config.idleTimeout,
      close: (code, reason) => this.close(code, reason),
      log: (message) => events.log('info', message),
    });
    const endpointEvents: WebSocketEndpointEvents = {
      onText: (text) => this.fromClient(text),
      onBinary: (data) => this.fromClientBytes(data),
      onLog: (level, message) => events.log(level, message),
      onClosed: (info) => void this.end(info),
      onActivity: events.onActivity?.bind(events),
    };
    const overMs = overBufferedMs(config);
    this.endpoint =
      handoff.transport === 'sse'
        ? sseEndpoint(socket, handoff, config, overMs, endpointEvents)
        : new WebSocketEndpoint(
            socket,
            {
              maxMessageSize: config.maxMessageSize,
              pingIntervalMs: config.pingInterval * 1000,
              maxBuffered: config.maxBuffered,
              overBufferedMs: overMs,
            },
            endpointEvents,
          );
  }

  /** Pushes made to this client so far (for GET /status). */
  get pushCount(): number {
    return this.pushed;
  }

  /** Data frames sent to this client so far (for GET /metrics). */
  get frameCount(): number {
    return this.endpoint.framesSent;
  }

  start(): void {
    this.endpoint.start(Buffer.from(this.handoff.head, 'base64'));
    const { channel, position, recovery } = this.handoff;
    const opening = this.frames.opening(channel, position, recovery);
    if (opening !== undefined) {
      // The event id (SSE) is the position: a reconnect before any publication keeps it.
      this.endpoint.sendText(opening, {
        event: recovery === undefined ? 'position' : 'recovery',
        position,
      });
    }
    const sink = this.sink();
    for (const source of this.sources) source.start(sink);
    this.expireAt(this.handoff.expiresAt);
    this.lifetimes.start();
  }

  /**
   * The client's admission ends at `at` (its token's exp): then it is closed with 4001
   * "token expired", and its page comes back with a fresh token (docs/authentication.md).
   */
  private expireAt(at: number | undefined): void {
    if (at === undefined) return;
    const left = at - Date.now();
    if (left > 0) {
      this.expiry = setTimeout(() => this.expireAt(at), Math.min(left, MAX_TIMER_MS));
      return;
    }
    this.expiry = undefined;
    const code = AppCloseCode.TokenExpired;
    this.events.log('info', `token expired, closing with ${code}`);
    this.close(code, APP_CLOSE_REASON[code]);
  }

  /** Closes the client (the session ends once its socket has closed). */
  close(code: number, reason: string): void {
    void this.stopSources();
    this.endpoint.close(code, reason);
  }

  private sink(): ClientSink {
    const endpoint = this.endpoint;
    /** Every push (text, binary, published) counts the same way: pushes, the first push. */
    const pushed = (count = 1): void => {
      if (count === 0) return; // the wake record's rehearsal: no push
      this.lifetimes.touch();
      const before = this.pushed;
      this.pushed += count;
      if (before === 0) this.events.onFirstPush?.();
    };
    const write = (text: string): boolean => {
      if (!endpoint.isOpen) return false;
      const over = endpoint.sendText(text);
      pushed();
      return over;
    };
    return {
      send: (text) => write(this.frames.push(text)),
      sendBytes: (data) => {
        if (!endpoint.isOpen) return false;
        const over = endpoint.sendBinary(data);
        pushed();
        return over;
      },
      publishFrames: (frames, count) => {
        // Count 0 (the master's wake record, empty frames) runs this whole path once while
        // the client is new, writing no byte: V8 compiles it then, not in every worker at
        // once at the first publication (docs/performance.md, round four).
        if (!endpoint.isOpen) return false;
        const over = endpoint.sendFrames(frames, count);
        pushed(count);
        return over;
      },
      get bufferedAmount() {
        return endpoint.bufferedAmount;
      },
      onDrain: (listener) => endpoint.onDrain(listener),
      close: (code, reason) => this.close(code, reason),
      log: (level, message) => this.events.log(level, message),
    };
  }

  private fromClient(text: string): void {
    this.lifetimes.touch();
    if (this.quitting) return;
    const word = quitWord(text, this.quitWords);
    if (word !== undefined) {
      this.quitting = true;
      void this.stopSources();
      this.events.onQuit(word);
      return;
    }
    if (this.sources.some((source) => source.fromClient?.(text) === true)) return;
    const action = text.trim();
    const shown =
      action.length > SHOWN_CHARS
        ? `${action.slice(0, SHOWN_CHARS)}… (${action.length} chars)`
        : action;
    this.events.log('info', `Performing action: ${shown}`);
  }

  /** A binary message: to the source that takes it (--binary), else ignored. */
  private fromClientBytes(data: Buffer): void {
    this.lifetimes.touch();
    if (this.quitting) return;
    for (const source of this.sources) if (source.fromClientBytes?.(data) === true) return;
  }

  private stopSources(): Promise<void> {
    this.ending ??= Promise.all(this.sources.map((source) => source.stop())).then(() => undefined);
    return this.ending;
  }

  /** The socket is gone: make sure every source is too (no command outlives its client). */
  private async end(info: CloseInfo): Promise<void> {
    clearTimeout(this.expiry);
    this.lifetimes.stop();
    await this.stopSources();
    this.events.onEnded(info);
  }
}
