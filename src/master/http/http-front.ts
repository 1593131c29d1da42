import http from 'node:http';
import type { Socket } from 'node:net';
import { hostPort } from '../../shared/host-port';
import type { AcceptErrors } from '../observability/accept-errors';
import type { ConnectionGuard } from './connection-guard';
import type { Refusals } from './refusal';
import { describeRequest, type Router } from './router';
import type { UpgradeHandler } from './upgrade-handler';
import { wantsEventStream } from '../../shared/protocol/sse';
import { headerValue } from '../../shared/protocol/handshake';

/** Request headers larger than this get 431 (Node's parser enforces it). */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Node's HTTP server, with each of its events sent to the part that decides: new
 * connections to the guard (handshake timeout), requests to the router, upgrades to the
 * upgrade handler, parse errors and accept errors to the guard and its log. Client input
 * enters here: whatever goes wrong with one request ends that request, never the master.
 */
export function httpFront(
  router: Router,
  upgrades: UpgradeHandler,
  guard: ConnectionGuard,
  refusals: Refusals,
  acceptErrors: AcceptErrors,
): http.Server {
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES });
  server.on('connection', (socket: Socket) => {
    acceptErrors.accepted();
    guard.watch(socket);
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    guard.requestArrived(req.socket);
    res.once('finish', () => guard.responseFinished(req.socket));
    if (req.headers.upgrade === undefined && isEventStreamRequest(req)) {
      upgrades.handleEventStream(req, res).catch((error: unknown) => {
        router.internalError(
          error,
          req.socket,
          res,
          hostPort(req.socket.remoteAddress, req.socket.remotePort),
        );
      });
      return;
    }
    if (req.headers.upgrade === undefined) return router.handle(req, res);
    // Upgrade without "Connection: Upgrade": the handshake checks say why it is refused.
    const verdict = upgrades.check(req);
    const remote = hostPort(req.socket.remoteAddress, req.socket.remotePort);
    const target = { socket: req.socket, res, describe: describeRequest(remote, req) };
    if (!verdict.ok) refusals.refuse(target, verdict);
    else router.handle(req, res);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades.handle(req, socket, head).catch((error: unknown) => {
      router.internalError(
        error,
        socket,
        undefined,
        hostPort(socket.remoteAddress, socket.remotePort),
      );
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
    guard.parseError(error, socket),
  );
  return server;
}

/**
 * A GET that asks for an event stream (SSE) of the channel its path names, whatever the
 * path (`/` too: the page is for browsers that do not ask for a stream).
 */
export function isEventStreamRequest(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const query = (req.url ?? '').split('?', 2)[1];
  const transport =
    query === undefined ? null : new URLSearchParams(query.split('#', 1)[0]).get('transport');
  return wantsEventStream(headerValue(req.headers.accept), transport);
}
