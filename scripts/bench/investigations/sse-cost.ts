/**
 * node dist/scripts/bench/investigations/sse-cost.js [--clients 20] [--pause-ms 300]
 *
 * The bench's SSE section alone (sse.ts): first push and worker PSS of event streams
 * beside WebSockets on one of our servers, in turns. Prints its table and the load.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { sseBeside, sseTable } from '../sse';
import { stopStartedOnSignal } from '../../lib/server-process';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    'pause-ms': { type: 'string', default: '300' },
  },
});
const clientCount = numberArg('clients', args.clients, { min: 1 });
const pauseMs = numberArg('pause-ms', args['pause-ms'], { min: 0 });

async function main(): Promise<void> {
  const before = os.loadavg().map((l) => l.toFixed(2));
  const result = await sseBeside(clientCount, pauseMs);
  const after = os.loadavg().map((l) => l.toFixed(2));
  console.log(sseTable(result));
  console.log(`Load average before: ${before.join(', ')}; after: ${after.join(', ')}.`);
}

main().catch((error: Error) => {
  console.error(error.stack);
  process.exit(1);
});
