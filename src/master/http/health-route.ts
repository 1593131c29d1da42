import type { Unavailable } from '../pool/worker-pool';
import type { Route } from './router';

/**
 * GET /healthz, for load balancers and supervisors: 200 `ok` while the server accepts
 * clients and can give them workers; 503 with Retry-After and the reason while it
 * drains on shutdown or backs off after workers failed to start. Open to all (it tells
 * nothing about clients), and not logged: a prober asks every few seconds. Readable from
 * any origin, Retry-After included: the client library in a page of another origin asks
 * it when its WebSocket was refused (docs/client.md).
 */
export function healthRoute(unavailable: () => Unavailable | undefined): Route {
  return {
    methods: ['GET', 'HEAD'],
    handle({ res }) {
      const why = unavailable();
      const headers = {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Expose-Headers': 'Retry-After',
      };
      if (why === undefined) {
        res.writeHead(200, headers);
        res.end('ok\n');
        return;
      }
      // Not kept alive: a prober should come back on a new connection (maybe to another instance).
      res.writeHead(503, {
        ...headers,
        'Retry-After': String(why.retryAfterS),
        Connection: 'close',
      });
      res.end(`${why.reason}\n`);
    },
  };
}
