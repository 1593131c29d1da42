import type { Metrics } from '../observability/metrics';
import type { PushCounts } from '../pool/push-counts';
import type { Route } from './router';

/**
 * GET /metrics: the Prometheus text exposition. The workers' frame counts reach the
 * master in the same coalesced report round as GET /status (at most one a second, shared
 * by concurrent requests), never per frame; the round is awaited so a scrape sees them.
 */
export function metricsRoute(metrics: Metrics, counts: PushCounts): Route {
  return {
    methods: ['GET', 'HEAD'],
    async handle({ res }) {
      await counts.read();
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      res.end(body);
    },
  };
}
