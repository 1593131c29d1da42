import {
  eventSourceTransport,
  fallbackTransport,
  type ConnectionHandlers,
  type Transport,
} from '../../../src/client/lib/transport';

/** A transport whose connections the test opens and closes by hand. */
function fake(name: string): Transport & { dialed: ConnectionHandlers[] } {
  const dialed: ConnectionHandlers[] = [];
  return {
    name,
    dialed,
    connect(_url, handlers) {
      dialed.push(handlers);
      return { isOpen: false, send: () => undefined, close: () => undefined };
    },
  };
}

const noop: ConnectionHandlers = { open: () => {}, message: () => {}, close: () => {} };

describe('fallbackTransport', () => {
  test('a WebSocket that cannot open is followed by an event stream, kept once it opens', () => {
    const ws = fake('websocket');
    const sse = fake('sse');
    const both = fallbackTransport(ws, sse);
    expect(both.name).toBe('websocket');
    both.connect('ws://x/c', noop);
    ws.dialed[0].close(1006, '');
    expect(both.name).toBe('sse');
    both.connect('ws://x/c', noop);
    sse.dialed[0].open();
    sse.dialed[0].close(1006, 'dropped');
    // No WebSocket ever opened here: the network refuses them; SSE stays.
    expect(both.name).toBe('sse');
  });

  test('after WebSockets worked, a failed one (a restart) is retried as a WebSocket after SSE ends', () => {
    const ws = fake('websocket');
    const sse = fake('sse');
    const both = fallbackTransport(ws, sse);
    both.connect('ws://x/c', noop);
    ws.dialed[0].open();
    ws.dialed[0].close(1012, 'service restart');
    expect(both.name).toBe('websocket'); // it had opened: no reason to change
    both.connect('ws://x/c', noop);
    ws.dialed[1].close(1006, '');
    expect(both.name).toBe('sse');
    both.connect('ws://x/c', noop);
    sse.dialed[0].open();
    sse.dialed[0].close(1006, '');
    expect(both.name).toBe('websocket');
  });
});

describe('eventSourceTransport', () => {
  /** An EventSource stand-in: the test dispatches its events. */
  class FakeEventSource {
    static last: FakeEventSource;
    readyState = 0;
    onopen: ((event: unknown) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    closed = false;
    readonly listeners = new Map<string, (event: { data?: unknown }) => void>();
    constructor(readonly url: string) {
      FakeEventSource.last = this;
    }
    addEventListener(type: string, listener: (event: { data?: unknown }) => void): void {
      this.listeners.set(type, listener);
    }
    close(): void {
      this.closed = true;
    }
  }

  test('http(s) URL, frame events as messages, the close event as the close code', () => {
    const heard: string[] = [];
    const ended: [number, string][] = [];
    eventSourceTransport(FakeEventSource).connect('wss://h/c?format=json&since=3&epoch=e', {
      open: () => heard.push('open'),
      message: (text) => heard.push(text),
      close: (code, reason) => ended.push([code, reason]),
    });
    const source = FakeEventSource.last;
    expect(source.url).toBe('https://h/c?format=json&since=3&epoch=e');
    source.onopen?.({});
    expect(heard).toEqual([]); // the head alone: not open yet
    source.listeners.get('hello')?.({ data: '{"type":"hello","client":1}' });
    source.listeners.get('pub')?.({ data: '{"type":"pub"}' });
    source.listeners.get('close')?.({
      data: '{"type":"close","code":4001,"reason":"token expired"}',
    });
    source.onerror?.({}); // after the end: ignored
    expect(heard).toEqual(['open', '{"type":"pub"}']);
    expect(ended).toEqual([[4001, 'token expired']]);
    expect(source.closed).toBe(true);
  });

  test('an error ends the connection (1006): the client, not the browser, reconnects', () => {
    const ended: number[] = [];
    eventSourceTransport(FakeEventSource).connect('ws://h/c', {
      ...noop,
      close: (code) => ended.push(code),
    });
    FakeEventSource.last.onerror?.({});
    expect(ended).toEqual([1006]);
    expect(FakeEventSource.last.closed).toBe(true);
  });

  test('a refused stream (200, then `refused`) never opens: it ends as a failed connection', () => {
    const heard: string[] = [];
    const ended: [number, string][] = [];
    eventSourceTransport(FakeEventSource).connect('ws://h/c', {
      open: () => heard.push('open'),
      message: (text) => heard.push(text),
      close: (code, reason) => ended.push([code, reason]),
    });
    const source = FakeEventSource.last;
    source.onopen?.({});
    source.listeners.get('refused')?.({
      data: '{"type":"refused","status":503,"code":"NO_WORKER","reason":"No worker"}',
    });
    // Left to end by itself: closing it here would abort a response still arriving.
    expect(source.closed).toBe(false);
    expect(ended).toEqual([]);
    source.onerror?.({});
    expect(heard).toEqual([]);
    expect(ended).toEqual([[1006, 'refused: 503 NO_WORKER']]);
    expect(source.closed).toBe(true);
  });

  test("a refused stream's retry_ms goes with its end, for the client's wait", () => {
    const ended: [number, string, number | undefined][] = [];
    eventSourceTransport(FakeEventSource).connect('ws://h/c', {
      ...noop,
      close: (code, reason, retryMs) => ended.push([code, reason, retryMs]),
    });
    FakeEventSource.last.listeners.get('refused')?.({
      data: '{"type":"refused","status":503,"code":"SERVER_FULL","reason":"full","retry_ms":5000}',
    });
    FakeEventSource.last.onerror?.({});
    expect(ended).toEqual([[1006, 'refused: 503 SERVER_FULL', 5000]]);
    // One without (an older server), or with nonsense: no retry, the back-off decides.
    for (const retry of ['', ',"retry_ms":-1', ',"retry_ms":"soon"']) {
      eventSourceTransport(FakeEventSource).connect('ws://h/c', {
        ...noop,
        close: (code, reason, retryMs) => ended.push([code, reason, retryMs]),
      });
      FakeEventSource.last.listeners.get('refused')?.({
        data: `{"status":503,"code":"NO_WORKER"${retry}}`,
      });
      FakeEventSource.last.onerror?.({});
    }
    expect(ended.slice(1).map(([, , retryMs]) => retryMs)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('a refused stream that does not end by itself is ended after a bound', () => {
    jest.useFakeTimers();
    try {
      const ended: [number, string][] = [];
      eventSourceTransport(FakeEventSource).connect('ws://h/c', {
        ...noop,
        close: (code, reason) => ended.push([code, reason]),
      });
      const source = FakeEventSource.last;
      source.listeners.get('refused')?.({ data: '{"status":429,"code":"RATE_LIMITED"}' });
      jest.advanceTimersByTime(999);
      expect(ended).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(ended).toEqual([[1006, 'refused: 429 RATE_LIMITED']]);
      expect(source.closed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a stream opens at its first frame event when no hello came first', () => {
    const heard: string[] = [];
    eventSourceTransport(FakeEventSource).connect('ws://h/c', {
      ...noop,
      open: () => heard.push('open'),
      message: (text) => heard.push(text),
    });
    FakeEventSource.last.listeners.get('position')?.({ data: '{"type":"position"}' });
    expect(heard).toEqual(['open', '{"type":"position"}']);
  });
});
