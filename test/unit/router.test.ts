import type http from 'node:http';
import { RefusalCode } from '../../src/shared/protocol/reasons';
import { Refusals } from '../../src/master/http/refusal';
import { Router, parseTarget, type RequestContext, type Route } from '../../src/master/http/router';
import { FakeLogger } from './fakes';

/** A request and its response, as the router and Refusals use them; calls recorded. */
function exchange(
  method: string | undefined,
  url: string | undefined,
  remoteAddress = '127.0.0.1',
): {
  req: http.IncomingMessage;
  res: http.ServerResponse & { writeHead: jest.Mock; end: jest.Mock };
  socket: { destroy: jest.Mock; end: jest.Mock };
} {
  const socket = {
    remoteAddress,
    remotePort: 5555,
    writable: true,
    end: jest.fn(),
    destroySoon: jest.fn(),
    destroy: jest.fn(),
  };
  const res = {
    headersSent: false,
    shouldKeepAlive: true,
    writeHead: jest.fn(function (this: { headersSent: boolean }) {
      this.headersSent = true;
    }),
    end: jest.fn(),
  };
  const req = { method, url, socket } as unknown as http.IncomingMessage;
  return {
    req,
    res: res as unknown as http.ServerResponse & { writeHead: jest.Mock; end: jest.Mock },
    socket,
  };
}

function setup(routes: Record<string, Route>): { router: Router; log: FakeLogger } {
  const log = new FakeLogger();
  const router = new Router(new Refusals(log.logger));
  for (const [path, route] of Object.entries(routes)) router.add(path, route);
  return { router, log };
}

const ok: Route = {
  methods: ['GET', 'HEAD'],
  handle({ res }) {
    res.writeHead(200);
    res.end('ok');
  },
};

/** Lets a rejected handler's catch run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('parseTarget', () => {
  it('parses origin-form and absolute-form targets', () => {
    expect(parseTarget('/status?x=1')?.pathname).toBe('/status');
    expect(parseTarget('/status?x=1')?.searchParams.get('x')).toBe('1');
    expect(parseTarget('http://example.com/ws')?.pathname).toBe('/ws');
    expect(parseTarget(undefined)?.pathname).toBe('/');
  });

  it.each(['http://[', '//[', 'http://a b/', 'http://exa%mple/'])('%s is no URL', (target) => {
    expect(parseTarget(target)).toBeUndefined();
  });
});

describe('Router', () => {
  it('calls the route of the exact path with the parsed request', () => {
    const handle = jest.fn();
    const { router, log } = setup({ '/status': { methods: ['GET'], handle } });
    const { req, res } = exchange('GET', '/status?pretty=1', '::1');
    router.handle(req, res);
    expect(handle).toHaveBeenCalledTimes(1);
    const context = handle.mock.calls[0][0] as RequestContext;
    expect(context.req).toBe(req);
    expect(context.res).toBe(res);
    expect(context.url.searchParams.get('pretty')).toBe('1');
    expect(context.remote).toBe('[::1]:5555');
    expect(log.entries).toEqual([]);
  });

  it('an unknown path is a 404 (lookup is exact: no prefix, no trailing slash)', () => {
    const { router, log } = setup({ '/status': ok });
    for (const url of ['/nope', '/status/', '/statusx', '/']) {
      const { req, res } = exchange('GET', url);
      router.handle(req, res);
      expect(res.writeHead).toHaveBeenCalledWith(404, expect.any(Object));
      expect(res.end).toHaveBeenCalledWith('Not found\n');
    }
    expect(log.at('warn')[0]).toBe('404 for 127.0.0.1:5555 GET /nope: Not found [NOT_FOUND]');
  });

  it('another method is a 405 with Allow', () => {
    const { router, log } = setup({ '/status': ok });
    const { req, res } = exchange('POST', '/status');
    router.handle(req, res);
    expect(res.writeHead).toHaveBeenCalledWith(405, {
      'Content-Type': 'text/plain; charset=utf-8',
      Connection: 'close',
      Allow: 'GET, HEAD',
    });
    expect(log.at('warn')).toEqual([
      '405 for 127.0.0.1:5555 POST /status: Method not allowed [METHOD_NOT_ALLOWED]',
    ]);
  });

  it('a request target that is no URL is a 400', () => {
    const handle = jest.fn();
    const { router, log } = setup({ '/': { methods: ['GET'], handle } });
    const { req, res } = exchange('GET', 'http://[');
    expect(() => router.handle(req, res)).not.toThrow();
    expect(res.writeHead).toHaveBeenCalledWith(400, expect.any(Object));
    expect(res.end).toHaveBeenCalledWith('Malformed request target\n');
    expect(handle).not.toHaveBeenCalled();
    expect(log.at('warn')).toEqual([
      '400 for 127.0.0.1:5555 GET http://[: Malformed request target [BAD_REQUEST]',
    ]);
  });

  it("a route refuses through the context: the router's log line and response", () => {
    const { router, log } = setup({
      '/publish': {
        methods: ['POST'],
        handle: ({ refuse }) =>
          refuse({
            status: 401,
            code: RefusalCode.Unauthorized,
            reason: 'Unauthorized',
            headers: { 'WWW-Authenticate': 'Bearer' },
          }),
      },
    });
    const { req, res } = exchange('POST', '/publish');
    router.handle(req, res);
    expect(res.writeHead).toHaveBeenCalledWith(
      401,
      expect.objectContaining({ 'WWW-Authenticate': 'Bearer' }),
    );
    expect(log.at('warn')).toEqual([
      '401 for 127.0.0.1:5555 POST /publish: Unauthorized [UNAUTHORIZED]',
    ]);
  });

  it('a handler that throws ends its request with 500, logged with the stack', () => {
    const { router, log } = setup({
      '/boom': {
        methods: ['GET'],
        handle() {
          throw new Error('boom');
        },
      },
    });
    const { req, res } = exchange('GET', '/boom');
    expect(() => router.handle(req, res)).not.toThrow();
    expect(res.writeHead).toHaveBeenCalledWith(500, expect.any(Object));
    expect(res.end).toHaveBeenCalledWith('Internal server error\n');
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('error')[0]).toMatch(
      /^500 for 127\.0\.0\.1:5555: Error: boom \[SERVER_ERROR\]\n\s+at /,
    );
  });

  it('a handler that rejects ends its request with 500', async () => {
    const { router, log } = setup({
      '/later': {
        methods: ['GET'],
        async handle() {
          await Promise.resolve();
          throw new Error('later');
        },
      },
    });
    const { req, res } = exchange('GET', '/later');
    expect(() => router.handle(req, res)).not.toThrow();
    await settle();
    expect(res.writeHead).toHaveBeenCalledWith(500, expect.any(Object));
    expect(log.at('error')[0]).toMatch(/^500 for 127\.0\.0\.1:5555: Error: later/);
  });

  it.each([['a string'], [undefined], [null], [42]])(
    'a thrown non-Error (%p) is a 500 too',
    (thrown) => {
      const { router, log } = setup({
        '/odd': {
          methods: ['GET'],
          handle() {
            // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
            throw thrown;
          },
        },
      });
      const { req, res } = exchange('GET', '/odd');
      expect(() => router.handle(req, res)).not.toThrow();
      expect(res.writeHead).toHaveBeenCalledWith(500, expect.any(Object));
      expect(log.at('error')).toEqual([`500 for 127.0.0.1:5555: ${String(thrown)} [SERVER_ERROR]`]);
    },
  );

  it('a handler that fails after its headers went out gets its connection closed', async () => {
    const { router } = setup({
      '/half': {
        methods: ['GET'],
        handle({ res }) {
          res.writeHead(200);
          return Promise.reject(new Error('half way'));
        },
      },
    });
    const { req, res, socket } = exchange('GET', '/half');
    router.handle(req, res);
    await settle();
    expect(res.writeHead).toHaveBeenCalledTimes(1);
    expect(socket.destroy).toHaveBeenCalledTimes(1);
    expect(socket.end).not.toHaveBeenCalled();
  });

  it('a request with no method is a 405, not a crash', () => {
    const { router } = setup({ '/status': ok });
    const { req, res } = exchange(undefined, '/status');
    expect(() => router.handle(req, res)).not.toThrow();
    expect(res.writeHead).toHaveBeenCalledWith(405, expect.any(Object));
  });
});
