/**
 * node dist/scripts/bench/investigations/sse-cost.js [--clients 20] [--pause-ms 300]
 *
 * Server-Sent Events beside WebSockets on one server: the first-event latency (TCP
 * connect to the hello, one client at a time, WebSocket and SSE alternating, a pause
 * between them so that the spares are back) and the memory of each kind's workers
 * (PSS from /proc/PID/smaps_rollup: shared pages counted by share) once --clients of
 * each are connected. Prints one line per kind.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { sleep } from '../../lib/sleep';
import { BenchClient } from '../load-client';
import { ours } from '../servers';
import { round, spread } from '../stats';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    'pause-ms': { type: 'string', default: '300' },
  },
});
const clientCount = numberArg('clients', args.clients, { min: 1 });
const pauseMs = numberArg('pause-ms', args['pause-ms'], { min: 0 });

/** An event-stream client on a raw socket: the time of its first event (the hello). */
class SseBenchClient {
  readonly started = performance.now();
  firstEventAt = 0;
  private text = '';
  private readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('error', () => undefined);
    this.socket.once('connect', () =>
      this.socket.write(
        `GET /bench HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      ),
    );
    this.socket.on('data', (chunk: Buffer) => {
      if (this.firstEventAt > 0) return;
      this.text += chunk.toString('latin1');
      if (this.text.includes('event: push')) this.firstEventAt = performance.now();
    });
  }

  async firstEvent(timeoutMs = 30000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.firstEventAt === 0) {
      if (Date.now() > deadline) throw new Error('no first event');
      await sleep(2);
    }
    return this.firstEventAt - this.started;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function pssKiB(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1]);
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const server = await ours(['--spare-workers', '4'])(0).ready();
  const ws: BenchClient[] = [];
  const sse: SseBenchClient[] = [];
  const latency = { websocket: [] as number[], sse: [] as number[] };
  try {
    for (let i = 0; i < clientCount; i++) {
      const socket = BenchClient.connect(server.port);
      await socket.firstPush();
      latency.websocket.push(socket.firstPushAt - socket.started);
      ws.push(socket);
      await sleep(pauseMs);
      const stream = new SseBenchClient(server.port);
      latency.sse.push(await stream.firstEvent());
      sse.push(stream);
      await sleep(pauseMs);
    }
    const status = (await (await fetch(`${server.httpUrl}/status`)).json()) as {
      clients: { pid: number; transport?: string }[];
    };
    for (const kind of ['websocket', 'sse'] as const) {
      const pss = status.clients
        .filter((client) => (client.transport ?? 'websocket') === kind)
        .map((client) => pssKiB(client.pid))
        .filter((value): value is number => value !== undefined);
      const mean = pss.reduce((sum, value) => sum + value, 0) / Math.max(pss.length, 1);
      console.log(
        `${kind}: first event (connect to hello) ms ${JSON.stringify(spread(latency[kind]))}; ` +
          `worker PSS mean ${round(mean / 1024, 1)} MiB over ${pss.length} workers`,
      );
    }
  } finally {
    for (const client of [...ws, ...sse]) client.destroy();
    await server.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.stack);
  process.exit(1);
});
