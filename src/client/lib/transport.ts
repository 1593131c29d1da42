/**
 * The seam between the client and the wire: a Transport opens one connection to a URL
 * and reports its opening, its text messages and its end. The WebSocket transport is
 * the one there is; another (an EventSource stream, for networks that refuse
 * WebSockets) plugs in by implementing the same two interfaces.
 */

export interface ConnectionHandlers {
  open(): void;
  /** One text message. */
  message(text: string): void;
  /** The end, once: the close code (1006 when there was no close frame) and reason. */
  close(code: number, reason: string): void;
}

export interface Connection {
  /** True while messages can be sent. */
  readonly isOpen: boolean;
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

export interface Transport {
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
