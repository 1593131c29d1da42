import type { Route } from '../http/router';
import type { Drain } from './drain';

/**
 * POST /drain (behind the admin token: master.ts registers it only with --admin-token):
 * starts the drain, as SIGQUIT does. 202 with `{"draining": true, "started": BOOL}`
 * (`started` false when a drain already ran); the body is ignored.
 */
export function drainRoute(drain: Drain, windowS: number): Route {
  return {
    methods: ['POST'],
    handle({ req, res }) {
      const started = drain.start('POST /drain');
      req.resume();
      res.writeHead(202, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(`${JSON.stringify({ draining: true, started, drain_seconds: windowS })}\n`);
    },
  };
}
