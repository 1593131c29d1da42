import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { freePort } from '../lib/free-port';
import { pssKiB } from '../lib/proc';
import { sleep } from '../lib/sleep';
import { BenchClient } from './load-client';
import { ours } from './servers';
import { round, spread, type Spread } from './stats';
import { markdown } from './table';

/**
 * Server-Sent Events beside WebSockets, on one of our servers: clients of the two kinds
 * open in turns (a WebSocket, an event stream, a WebSocket...), one at a time with a
 * pause between them so that the spares are back, each timed from its TCP connect to
 * the worker's first push (the hello "Connected to worker PID ..."). Once all are in,
 * each kind's workers are measured (PSS, shared pages counted by share).
 */
export interface TransportCost {
  /** TCP connect → the worker's first push (ms). */
  firstPush: Spread;
  /** Mean PSS of this kind's workers with every client connected (MiB). */
  pssMiB: number;
  /** Workers whose PSS was read. */
  workers: number;
}

export interface SseBeside {
  /** Clients of each kind. */
  clients: number;
  websocket: TransportCost;
  sse: TransportCost;
}

/** An event-stream client on a raw socket: the time of the worker's first push. */
export class SseBenchClient {
  readonly started = performance.now();
  firstPushAt = 0;
  private text = '';
  private readonly socket: net.Socket;

  constructor(port: number, channel = '/bench') {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('error', () => undefined);
    this.socket.once('connect', () =>
      this.socket.write(
        `GET ${channel} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      ),
    );
    this.socket.on('data', (chunk: Buffer) => {
      if (this.firstPushAt > 0) return;
      this.text += chunk.toString('latin1');
      // The stream opens with retry:, a hello event and the position; then the push.
      if (this.text.includes('event: push')) this.firstPushAt = performance.now();
    });
  }

  /** Milliseconds from the connect to the first push (bounded). */
  async firstPush(timeoutMs = 30000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.firstPushAt === 0) {
      if (Date.now() > deadline) throw new Error('no first push on the event stream');
      await sleep(2);
    }
    return this.firstPushAt - this.started;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** `clients` WebSockets and `clients` event streams in turns, then each kind's PSS. */
export async function sseBeside(
  clients: number,
  pauseMs: number,
  log: (line: string) => void = () => undefined,
): Promise<SseBeside> {
  const server = await ours(['--spare-workers', '4'])(await freePort()).ready();
  const open: { destroy(): void }[] = [];
  const latency = { websocket: [] as number[], sse: [] as number[] };
  try {
    log(`SSE beside WebSocket: ${clients} of each, in turns, ${pauseMs} ms apart`);
    for (let i = 0; i < clients; i++) {
      const socket = BenchClient.connect(server.port);
      open.push(socket);
      await socket.firstPush();
      latency.websocket.push(socket.firstPushAt - socket.started);
      await sleep(pauseMs);
      const stream = new SseBenchClient(server.port);
      open.push(stream);
      latency.sse.push(await stream.firstPush());
      await sleep(pauseMs);
    }
    const status = (await (await fetch(`${server.httpUrl}/status`)).json()) as {
      clients: { pid: number; transport?: string }[];
    };
    const cost = (kind: 'websocket' | 'sse'): TransportCost => {
      const pss = status.clients
        .filter((client) => (client.transport ?? 'websocket') === kind)
        .map((client) => pssKiB(client.pid))
        .filter((kib) => kib > 0);
      const mean = pss.reduce((sum, kib) => sum + kib, 0) / Math.max(pss.length, 1);
      return { firstPush: spread(latency[kind]), pssMiB: round(mean / 1024), workers: pss.length };
    };
    return { clients, websocket: cost('websocket'), sse: cost('sse') };
  } finally {
    for (const client of open) client.destroy();
    await server.stop(15000);
  }
}

/** The printed section: one row per transport. */
export function sseTable(result: SseBeside): string {
  const rows = [
    ['transport', 'connect → first push, p50 / p90 / max ms', 'worker PSS, mean'],
    ...(['websocket', 'sse'] as const).map((kind) => {
      const c = result[kind];
      const { p50, p90, max } = c.firstPush;
      return [
        kind === 'sse' ? 'SSE' : 'WebSocket',
        `${p50} / ${p90} / ${max}`,
        `${c.pssMiB} MiB (${c.workers} workers)`,
      ];
    }),
  ];
  const title = `SSE beside WebSocket (ours, --spare-workers 4, ${result.clients} of each, in turns):`;
  return `${title}\n${markdown(rows)}`;
}
