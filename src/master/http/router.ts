import type http from 'node:http';
import type { Socket } from 'node:net';
import type { HeaderPair } from '../../shared/config';
import { hostPort } from '../../shared/host-port';
import { redactTarget } from '../auth/token-source';
import { RefusalCode } from '../../shared/protocol/reasons';
import type { Refusal, Refusals } from './refusal';

/** One request as a route handler sees it. */
// Its functions are closures over the request (property signatures, not methods): route
// handlers destructure them.
export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** The request target, parsed. */
  url: URL;
  /** "ADDR:PORT" of the peer. */
  remote: string;
  /** Answers with a status, a plain-text reason and a log line (with the code), and closes. */
  refuse: (refusal: Refusal) => void;
  /** Like refuse, for a request whose body is still arriving: the rest is read and dropped. */
  refuseDuringBody: (refusal: Refusal) => void;
  /** A bug met later (in a callback): 500 for this request alone, logged. */
  fail: (error: unknown) => void;
}

export interface Route {
  /** Methods served; others get 405 with Allow. */
  methods: readonly string[];
  handle(context: RequestContext): void | Promise<void>;
}

/**
 * A request as refusals and logs name it: "ADDR:PORT GET /path" (`who` first), any
 * `token` query parameter's value redacted (a token never reaches a log line).
 */
export function describeRequest(who: string, req: http.IncomingMessage): string {
  return `${who} ${req.method} ${redactTarget(req.url ?? '')}`;
}

/** The answer for a path nothing serves. */
export const NOT_FOUND: Refusal = { status: 404, code: RefusalCode.NotFound, reason: 'Not found' };

/** The request target as a URL ("/x?y", or absolute-form), or undefined if it is not one. */
export function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/**
 * Plain HTTP: one handler per path, looked up exactly (no order to get wrong).
 * Unknown paths get 404, other methods 405. A handler that throws or rejects ends
 * its own request with 500, never the master.
 */
export class Router {
  private readonly routes = new Map<string, Route>();
  /** Routes of every path under a prefix ("/presence" takes "/presence/..."). */
  private readonly prefixes = new Map<string, Route>();
  private headers: readonly HeaderPair[] = [];
  private otherwise: ((context: RequestContext) => Promise<boolean>) | undefined;

  constructor(private readonly refusals: Refusals) {}

  add(path: string, route: Route): this {
    this.routes.set(path, route);
    return this;
  }

  /** A route for `prefix` itself and every path under `prefix/`. */
  addPrefix(prefix: string, route: Route): this {
    this.routes.set(prefix, route);
    this.prefixes.set(`${prefix}/`, route);
    return this;
  }

  private underPrefix(path: string): Route | undefined {
    for (const [prefix, route] of this.prefixes) if (path.startsWith(prefix)) return route;
    return undefined;
  }

  /** Headers every response gets (--header, --header-http), set before any route runs. */
  always(headers: readonly HeaderPair[]): this {
    this.headers = headers;
    return this;
  }

  /**
   * Asked for a path no route takes (--staticdir), any method; it resolves true when it
   * answered, false to let the request have its 404.
   */
  fallback(handler: (context: RequestContext) => Promise<boolean>): this {
    this.otherwise = handler;
    return this;
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const remote = hostPort(req.socket.remoteAddress, req.socket.remotePort);
    const target = { socket: req.socket, res, describe: describeRequest(remote, req) };
    const refuse = (refusal: Refusal): void => this.refusals.refuse(target, refusal);
    const refuseDuringBody = (refusal: Refusal): void =>
      this.refusals.refuse({ ...target, drain: req }, refusal);
    const fail = (error: unknown): void => this.internalError(error, req.socket, res, remote);
    try {
      for (const [name, value] of this.headers) res.setHeader(name, value);
      const url = parseTarget(req.url);
      if (url === undefined)
        return refuse({
          status: 400,
          code: RefusalCode.BadRequest,
          reason: 'Malformed request target',
        });
      const route = this.routes.get(url.pathname) ?? this.underPrefix(url.pathname);
      if (route === undefined && this.otherwise !== undefined) {
        const context = { req, res, url, remote, refuse, refuseDuringBody, fail };
        this.otherwise(context).then((served) => {
          if (!served) refuse(NOT_FOUND);
        }, fail);
        return;
      }
      if (route === undefined) return refuse(NOT_FOUND);
      if (!route.methods.includes(req.method ?? '')) {
        return refuse({
          status: 405,
          code: RefusalCode.MethodNotAllowed,
          reason: 'Method not allowed',
          headers: { Allow: route.methods.join(', ') },
        });
      }
      const done = route.handle({ req, res, url, remote, refuse, refuseDuringBody, fail });
      if (done instanceof Promise) done.catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  /** A bug met while serving one request: logged with its stack, 500 for that request alone. */
  internalError(
    error: unknown,
    socket: Socket,
    res: http.ServerResponse | undefined,
    remote: string,
  ): void {
    const stack = (error as Error)?.stack ?? String(error);
    this.refusals.refuse(
      { socket, res, describe: remote },
      { status: 500, code: RefusalCode.ServerError, reason: 'Internal server error' },
      `500 for ${remote}: ${stack}`,
    );
  }
}
