import type { ServerConfig } from '../../shared/config';
import type { PushCounts } from '../pool/push-counts';
import type { WorkerPool } from '../pool/worker-pool';
import type { Route } from './router';
import { statusBody, type ServerFacts } from './status';

/** GET /status: JSON about every client, spare and limit (see status.ts). */
export function statusRoute(
  pool: WorkerPool,
  counts: PushCounts,
  config: ServerConfig,
  facts: () => ServerFacts,
): Route {
  return {
    methods: ['GET', 'HEAD'],
    async handle({ res }) {
      const round = await counts.read();
      const body = statusBody(pool.serving, round, pool.spares, pool.spareTarget, config, facts());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    },
  };
}
