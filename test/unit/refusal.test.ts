import http from 'node:http';
import type { Socket } from 'node:net';
import { Refusals, refusalBytes } from '../../src/master/http/refusal';
import { RefusalCode } from '../../src/shared/protocol/reasons';
import { FakeLogger } from './fakes';

/** A raw connection as Refusals uses it; every call recorded. */
function fakeSocket(writable = true): Socket & {
  end: jest.Mock;
  destroySoon: jest.Mock;
  destroy: jest.Mock;
} {
  return {
    writable,
    end: jest.fn(),
    destroySoon: jest.fn(),
    destroy: jest.fn(),
  } as unknown as Socket & { end: jest.Mock; destroySoon: jest.Mock; destroy: jest.Mock };
}

/** Node's response object as Refusals uses it. */
function fakeRes(headersSent = false): http.ServerResponse & {
  writeHead: jest.Mock;
  end: jest.Mock;
} {
  return {
    headersSent,
    shouldKeepAlive: true,
    writeHead: jest.fn(),
    end: jest.fn(),
  } as unknown as http.ServerResponse & { writeHead: jest.Mock; end: jest.Mock };
}

/** The parts of a response as a client would read them. */
function parse(response: string): {
  statusLine: string;
  headers: Record<string, string>;
  body: string;
} {
  const split = response.indexOf('\r\n\r\n');
  expect(split).toBeGreaterThan(0);
  const [statusLine, ...lines] = response.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(': ');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 2);
  }
  return { statusLine, headers, body: response.slice(split + 4) };
}

describe('refusalBytes', () => {
  it.each([400, 403, 404, 405, 426, 429, 500, 503])(
    'status %i: the reason phrase from http.STATUS_CODES',
    (status) => {
      const { statusLine } = parse(refusalBytes(status, 'why'));
      expect(statusLine).toBe(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`);
    },
  );

  it('an unknown status still gets a reason phrase', () => {
    expect(parse(refusalBytes(599, 'odd')).statusLine).toBe('HTTP/1.1 599 Error');
  });

  it('a plain-text body of the reason, its length in bytes, and Connection: close', () => {
    const reason = 'Origin “évil” not allowed';
    const { headers, body } = parse(refusalBytes(403, reason));
    expect(body).toBe(`${reason}\n`);
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(body));
    expect(Number(headers['content-length'])).toBeGreaterThan(body.length);
    expect(headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(headers.connection).toBe('close');
  });

  it('adds the extra headers', () => {
    const { headers } = parse(
      refusalBytes(503, 'busy', { 'Retry-After': '5', Allow: 'GET, HEAD' }),
    );
    expect(headers['retry-after']).toBe('5');
    expect(headers.allow).toBe('GET, HEAD');
  });

  it('parses as one complete HTTP response', () => {
    const parser = parse(refusalBytes(426, 'Upgrade required', { Upgrade: 'websocket' }));
    expect(parser.headers.upgrade).toBe('websocket');
    expect(parser.body).toBe('Upgrade required\n');
  });
});

describe('Refusals.refuse', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  it('on a socket: writes the response, closes, logs one warning and tells onRefused', () => {
    const log = new FakeLogger();
    const onRefused = jest.fn();
    const socket = fakeSocket();
    new Refusals(log.logger, onRefused).refuse(
      { socket, describe: '127.0.0.1:5000 GET /ws' },
      { status: 403, code: RefusalCode.OriginNotAllowed, reason: 'Origin not allowed' },
    );
    expect(socket.end).toHaveBeenCalledTimes(1);
    expect(socket.end).toHaveBeenCalledWith(refusalBytes(403, 'Origin not allowed'));
    expect(socket.destroySoon).toHaveBeenCalledTimes(1);
    expect(socket.destroy).not.toHaveBeenCalled();
    expect(log.entries).toEqual([
      {
        level: 'warn',
        message: '403 for 127.0.0.1:5000 GET /ws: Origin not allowed [ORIGIN_NOT_ALLOWED]',
      },
    ]);
    expect(onRefused).toHaveBeenCalledTimes(1);
    expect(onRefused).toHaveBeenCalledWith(403, 'ORIGIN_NOT_ALLOWED');
  });

  it('on a socket: a peer that never reads is destroyed after a second', () => {
    const socket = fakeSocket();
    new Refusals(new FakeLogger().logger).refuse(
      { socket, describe: 'x' },
      { status: 400, code: RefusalCode.BadRequest, reason: 'bad' },
    );
    jest.advanceTimersByTime(999);
    expect(socket.destroy).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(socket.destroy).toHaveBeenCalledTimes(1);
  });

  it('a 5xx is logged as an error, with the extra headers sent', () => {
    const log = new FakeLogger();
    const socket = fakeSocket();
    new Refusals(log.logger).refuse(
      { socket, describe: 'a:1' },
      {
        status: 503,
        code: RefusalCode.ServerFull,
        reason: 'Server full',
        headers: { 'Retry-After': '5' },
      },
    );
    expect(log.entries).toEqual([
      { level: 'error', message: '503 for a:1: Server full [SERVER_FULL]' },
    ]);
    expect(parse(socket.end.mock.calls[0][0] as string).headers['retry-after']).toBe('5');
  });

  it('logs the given line instead of the default one', () => {
    const log = new FakeLogger();
    new Refusals(log.logger).refuse(
      { socket: fakeSocket(), describe: 'a:1' },
      { status: 500, code: RefusalCode.ServerError, reason: 'Internal server error' },
      '500 for a:1: Error: boom',
    );
    expect(log.at('error')).toEqual(['500 for a:1: Error: boom [SERVER_ERROR]']);
    expect(log.entries).toHaveLength(1);
  });

  it('a socket that is no longer writable is destroyed, nothing written', () => {
    const log = new FakeLogger();
    const onRefused = jest.fn();
    const socket = fakeSocket(false);
    new Refusals(log.logger, onRefused).refuse(
      { socket, describe: 'a:1' },
      { status: 408, code: RefusalCode.Timeout, reason: 'Timeout' },
    );
    expect(socket.end).not.toHaveBeenCalled();
    expect(socket.destroy).toHaveBeenCalledTimes(1);
    expect(log.entries).toHaveLength(1);
    expect(onRefused).toHaveBeenCalledWith(408, 'TIMEOUT');
  });

  it("with Node's response object: writeHead and end, and no keep-alive", () => {
    const log = new FakeLogger();
    const onRefused = jest.fn();
    const socket = fakeSocket();
    const res = fakeRes();
    new Refusals(log.logger, onRefused).refuse(
      { socket, res, describe: 'a:1 PUT /status' },
      {
        status: 405,
        code: RefusalCode.MethodNotAllowed,
        reason: 'Method not allowed',
        headers: { Allow: 'GET, HEAD' },
      },
    );
    expect(res.writeHead).toHaveBeenCalledTimes(1);
    expect(res.writeHead).toHaveBeenCalledWith(405, {
      'Content-Type': 'text/plain; charset=utf-8',
      Connection: 'close',
      Allow: 'GET, HEAD',
    });
    expect(res.end).toHaveBeenCalledWith('Method not allowed\n');
    expect(res.shouldKeepAlive).toBe(false);
    expect(socket.end).not.toHaveBeenCalled();
    expect(socket.destroy).not.toHaveBeenCalled();
    expect(log.at('warn')).toEqual([
      '405 for a:1 PUT /status: Method not allowed [METHOD_NOT_ALLOWED]',
    ]);
    expect(onRefused).toHaveBeenCalledWith(405, 'METHOD_NOT_ALLOWED');
  });

  it('when the headers already went out, only the connection is closed', () => {
    const log = new FakeLogger();
    const socket = fakeSocket();
    const res = fakeRes(true);
    new Refusals(log.logger).refuse(
      { socket, res, describe: 'a:1' },
      { status: 500, code: RefusalCode.ServerError, reason: 'Internal error' },
    );
    expect(res.writeHead).not.toHaveBeenCalled();
    expect(res.end).not.toHaveBeenCalled();
    expect(socket.end).not.toHaveBeenCalled();
    expect(socket.destroy).toHaveBeenCalledTimes(1);
    expect(log.entries).toHaveLength(1);
  });
});

describe('Refusals.refuse of an event-stream request', () => {
  const retryable = (status: number, retryAfter?: string) => ({
    status,
    code: status === 429 ? RefusalCode.RateLimited : RefusalCode.ServerFull,
    reason: 'Come back later',
    headers: retryAfter === undefined ? undefined : { 'Retry-After': retryAfter },
  });

  it('a 503 with Retry-After: a 200 stream of retry: and one refused event, still counted as 503', () => {
    const log = new FakeLogger();
    const onRefused = jest.fn();
    const res = fakeRes();
    new Refusals(log.logger, onRefused).refuse(
      { socket: fakeSocket(), res, describe: 'a:1 GET /c', eventStream: true },
      retryable(503, '5'),
    );
    expect(res.writeHead).toHaveBeenCalledWith(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
      Connection: 'close',
      'Retry-After': '5',
    });
    expect(res.end).toHaveBeenCalledWith(
      'retry: 5000\n\nevent: refused\n' +
        'data: {"type":"refused","status":503,"code":"SERVER_FULL","reason":"Come back later","retry_ms":5000}\n\n',
    );
    expect(res.shouldKeepAlive).toBe(false);
    expect(onRefused).toHaveBeenCalledWith(503, 'SERVER_FULL');
    expect(log.at('error')).toEqual(['503 for a:1 GET /c: Come back later [SERVER_FULL]']);
  });

  it('a 429 on a raw socket is a stream too; Retry-After 0 asks for 250 ms', () => {
    const socket = fakeSocket();
    new Refusals(new FakeLogger().logger).refuse(
      { socket, describe: 'a:1', eventStream: true },
      retryable(429, '0'),
    );
    const { statusLine, headers, body } = parse(socket.end.mock.calls[0][0] as string);
    expect(statusLine).toBe('HTTP/1.1 200 OK');
    expect(headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(body).toMatch(/^retry: 250\n\nevent: refused\ndata: \{"type":"refused","status":429,/);
  });

  it.each([
    ['a 403', { status: 403, code: RefusalCode.OriginNotAllowed, reason: 'no' }],
    ['a 401', { status: 401, code: RefusalCode.Unauthorized, reason: 'no' }],
    ['a 503 without Retry-After', retryable(503)],
  ])('%s stays a plain HTTP answer', (_what, refusal) => {
    const res = fakeRes();
    new Refusals(new FakeLogger().logger).refuse(
      { socket: fakeSocket(), res, describe: 'a:1', eventStream: true },
      refusal,
    );
    expect(res.writeHead).toHaveBeenCalledWith(refusal.status, expect.anything());
    expect(res.end).toHaveBeenCalledWith(`${refusal.reason}\n`);
  });
});
