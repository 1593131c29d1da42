/**
 * The seam between the client and the wire: a Transport opens one connection to a URL
 * and reports its opening, its text messages and its end: WebSockets, or an
 * EventSource stream (Server-Sent Events) for networks that refuse WebSockets, or the
 * two with a fall-back.
 */

export interface ConnectionHandlers {
  open(): void;
  /** One text message. */
  message(text: string): void;
  /**
   * The end, once: the close code (1006 when there was no close frame) and reason;
   * `retryMs`: when the server said how long to stay away (a refused event stream).
   */
  close(code: number, reason: string, retryMs?: number): void;
}

export interface Connection {
  /** True while messages can be sent. */
  readonly isOpen: boolean;
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

export interface Transport {
  /** Which transport the next connection uses: 'websocket' or 'sse'. */
  readonly name?: string;
  /** Opens a connection to `url` (ws: or wss:); `handlers` hear what happens to it. */
  connect(url: string, handlers: ConnectionHandlers): Connection;
}

/**
 * What the client needs of a WebSocket: the browser's, Node's global one (Node 22 on),
 * or `ws`'s class. The handler parameters are `any` on purpose: each of those types its
 * events its own way, and a stricter type here would refuse one of them.
 */
export interface WebSocketLike {
  readonly readyState: number;
  /* eslint-disable @typescript-eslint/no-explicit-any */
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** readyState of an open WebSocket (the same in every implementation). */
const OPEN = 1;

/** The global WebSocket, when this runtime has one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const found = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return typeof found === 'function' ? found : undefined;
}

/** A Transport over WebSockets of the given class. */
export function webSocketTransport(WebSocketClass: WebSocketConstructor): Transport {
  return {
    name: 'websocket',
    connect(url, handlers) {
      const socket = new WebSocketClass(url);
      let ended = false;
      socket.onopen = () => handlers.open();
      socket.onmessage = (event: { data?: unknown }) => {
        // Text only: this client asks for JSON frames, which are text.
        if (typeof event.data === 'string') handlers.message(event.data);
      };
      // An error is always followed by a close; the close tells.
      socket.onerror = () => undefined;
      socket.onclose = (event: { code?: unknown; reason?: unknown }) => {
        if (ended) return;
        ended = true;
        const code = typeof event.code === 'number' ? event.code : 1006;
        handlers.close(code, typeof event.reason === 'string' ? event.reason : '');
      };
      return {
        get isOpen() {
          return socket.readyState === OPEN;
        },
        send: (text) => socket.send(text),
        close: (code, reason) => socket.close(code, reason),
      };
    },
  };
}

/** What the client needs of an EventSource: the browser's (or a polyfill's). */
export interface EventSourceLike {
  readonly readyState: number;
  /* eslint-disable @typescript-eslint/no-explicit-any */
  onerror: ((event: any) => void) | null;
  addEventListener(type: string, listener: (event: any) => void): void;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  close(): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

/** The global EventSource, when this runtime has one (browsers). */
export function globalEventSource(): EventSourceConstructor | undefined {
  const found = (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  return typeof found === 'function' ? found : undefined;
}

/** How long a refused stream may take to end after its `refused` event (ms). */
const REFUSED_STREAM_END_MS = 1000;

/** The server's event names whose data is a frame's JSON text (docs/sse.md). */
const FRAME_EVENTS = ['pub', 'direct', 'push', 'recovery', 'position', 'gap', 'binary'];

/**
 * A Transport over Server-Sent Events (EventSource), for networks that refuse
 * WebSockets: the same URL with http(s), each event's data the JSON frame a WebSocket
 * client would get. Receive-only: nothing can be sent. It is open at the stream's first
 * event (`hello`), not at the response head. The browser's own reconnect is
 * not used: any error ends the connection (1006), and the client comes back with its
 * position in the URL, as it does over WebSockets. The server's `close` event gives the
 * close code (4001, 1012, ...) a WebSocket would have had.
 */
export function eventSourceTransport(EventSourceClass: EventSourceConstructor): Transport {
  return {
    name: 'sse',
    connect(url, handlers) {
      const http = new URL(url);
      http.protocol = http.protocol === 'wss:' ? 'https:' : 'http:';
      const source = new EventSourceClass(http.href);
      let ended = false;
      let refusal:
        | { reason: string; retryMs: number | undefined; bound: ReturnType<typeof setTimeout> }
        | undefined;
      const end = (code: number, reason: string): void => {
        if (ended) return;
        ended = true;
        if (refusal !== undefined) clearTimeout(refusal.bound);
        source.close();
        handlers.close(code, reason, refusal?.retryMs);
      };
      // Open at the first event, not at the browser's `open` (the 200 head): a refusal
      // worth retrying is a 200 stream too, with a `refused` event and no hello.
      let opened = false;
      const served = (): void => {
        if (opened || ended) return;
        opened = true;
        handlers.open();
      };
      source.addEventListener('hello', served);
      for (const type of FRAME_EVENTS) {
        source.addEventListener(type, (event: { data?: unknown }) => {
          served();
          if (!ended && typeof event.data === 'string') handlers.message(event.data);
        });
      }
      // Turned away (503, 429): not a connection. The stream says when to come back
      // (`retry_ms`, its `retry:`); the client waits that long (refusedStreamDelay), or
      // without it decides as for a refused WebSocket (back-off, /healthz's Retry-After).
      source.addEventListener('refused', (event: { data?: unknown }) => {
        let reason = 'refused';
        let retryMs: number | undefined;
        try {
          const said = JSON.parse(String(event.data)) as {
            status?: unknown;
            code?: unknown;
            retry_ms?: unknown;
          };
          reason = `refused: ${String(said.status)} ${String(said.code)}`;
          const retry = said.retry_ms;
          if (typeof retry === 'number' && Number.isFinite(retry) && retry >= 0) retryMs = retry;
        } catch {
          // Not ours: still a refusal.
        }
        // The server ends the stream right after this event. Closing the source now would
        // abort a response still arriving (a failed request in the browser's console):
        // the end comes with the stream's own end (onerror), or after a bound.
        if (refusal === undefined && !ended) {
          const bound = setTimeout(() => end(1006, reason), REFUSED_STREAM_END_MS);
          refusal = { reason, retryMs, bound };
        }
      });
      source.addEventListener('close', (event: { data?: unknown }) => {
        let code = 1006;
        let reason = '';
        try {
          const said = JSON.parse(String(event.data)) as { code?: unknown; reason?: unknown };
          if (typeof said.code === 'number') code = said.code;
          if (typeof said.reason === 'string') reason = said.reason;
        } catch {
          // Not ours: a drop.
        }
        end(code, reason);
      });
      // A failed request, or a broken stream: the client decides when to come back.
      source.onerror = () => end(1006, refusal?.reason ?? 'event stream error');
      return {
        isOpen: false,
        send: () => undefined,
        close: (code = 1000, reason = '') => {
          // An EventSource closed by us says nothing: tell the end ourselves, later,
          // as a WebSocket's close event would come.
          setTimeout(() => end(code, reason), 0);
          source.close();
        },
      };
    },
  };
}

/**
 * WebSockets first, Server-Sent Events when a WebSocket cannot open (a proxy that
 * refuses the upgrade). After a WebSocket that failed before opening, the next
 * connection is an event stream. An event stream that opens before any WebSocket ever
 * did is kept for the client's life (WebSockets do not pass here); otherwise, once it
 * ends, WebSockets are tried again (the failure was the server's restart, not the
 * network's).
 */
export function fallbackTransport(webSocket: Transport, eventSource: Transport): Transport {
  let current = webSocket;
  let webSocketWorked = false;
  let settled = false;
  return {
    get name() {
      return current.name;
    },
    connect(url, handlers) {
      const using = current;
      let opened = false;
      return using.connect(url, {
        open: () => {
          opened = true;
          if (using === webSocket) webSocketWorked = true;
          else if (!webSocketWorked) settled = true;
          handlers.open();
        },
        message: (text) => handlers.message(text),
        close: (code, reason, retryMs) => {
          if (using === webSocket && !opened) current = eventSource;
          else if (using === eventSource && !settled) current = webSocket;
          handlers.close(code, reason, retryMs);
        },
      });
    },
  };
}
