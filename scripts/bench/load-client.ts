import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Opcode } from '../../src/shared/protocol/constants';
import { encodeClose, encodeFrame, encodeText } from '../../src/shared/protocol/frame';
import { Receiver } from '../../src/shared/protocol/receiver';
import { OPEN_CONCURRENCY } from './plan';

/**
 * The benchmark's client: a raw TCP socket, a handshake, and the server's frames
 * decoded with the project's own receiver in client mode. Cheap enough that one load
 * process can hold thousands of them without being the bottleneck.
 */
const MASK = Buffer.from([1, 2, 3, 4]);

export class BenchClient {
  readonly started = performance.now();
  upgradedAt = 0;
  firstPushAt = 0;
  closedAt = 0;
  /** A handshake refused with an HTTP status: the status and its Retry-After, if any. */
  refusal: { status: number; retryAfterS: number | undefined } | undefined;
  /** Arrival times of the demo pushes (not the hello). */
  readonly pushTimes: number[] = [];
  keepPushTimes = false;
  /** Called with every text message and its arrival time (for fan-out measurements). */
  onText: ((text: string, at: number) => void) | undefined;
  private readonly receiver = new Receiver({ maxMessageSize: 1 << 24, expectMasked: false });
  private head = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedAt = performance.now();
      this.wake();
    });
  }

  /** Connects and sends the upgrade request; `upgraded()` waits for the 101. */
  static connect(port: number, channel = '/'): BenchClient {
    const socket = net.connect(port, '127.0.0.1');
    const client = new BenchClient(socket);
    socket.once('connect', () => {
      socket.write(
        `GET ${channel} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    return client;
  }

  /** Connects and completes the handshake; resolves at the 101. */
  static open(port: number, timeoutMs = 30000, channel = '/'): Promise<BenchClient> {
    const client = BenchClient.connect(port, channel);
    return client.upgraded(timeoutMs).then(() => client);
  }

  upgraded(timeoutMs = 30000): Promise<void> {
    return this.until(() => this.upgradedAt > 0, 'the 101', timeoutMs);
  }

  /** Resolves when the TCP connection has closed (either side). */
  closed(timeoutMs: number): Promise<void> {
    return this.until(() => this.closedAt > 0, 'the TCP close', timeoutMs);
  }

  firstPush(timeoutMs = 30000): Promise<void> {
    return this.until(() => this.firstPushAt > 0, 'the first push', timeoutMs);
  }

  /** Sends "quit"; resolves with the milliseconds until the server closed TCP. */
  async quit(timeoutMs = 30000): Promise<number> {
    const sent = performance.now();
    this.socket.write(encodeText('quit', { mask: MASK }));
    await this.until(() => this.closedAt > 0, 'the TCP close', timeoutMs);
    return this.closedAt - sent;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.upgradedAt === 0) {
      this.head = Buffer.concat([this.head, chunk]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.head.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        const retryAfter = /\r\nretry-after:\s*(\d+)/i.exec(head)?.[1];
        this.refusal = {
          status: Number(head.slice(9, 12)),
          retryAfterS: retryAfter === undefined ? undefined : Number(retryAfter),
        };
        this.socket.destroy();
        return;
      }
      this.upgradedAt = performance.now();
      chunk = this.head.subarray(end + 4);
      this.wake();
    }
    for (const event of this.receiver.push(chunk)) {
      if (event.type === 'close') {
        // As a real client does: echo the close, then let the server close TCP.
        this.socket.end(encodeClose(event.code, '', { mask: MASK }));
        continue;
      }
      if (event.type === 'ping') {
        // As a real client does: keepalive pings get pongs, or the server drops us.
        this.socket.write(encodeFrame(Opcode.Pong, event.data, { mask: MASK }));
        continue;
      }
      if (event.type !== 'text') continue;
      const now = performance.now();
      this.onText?.(event.text, now);
      if (!event.text.startsWith('I am waiting')) continue;
      if (this.firstPushAt === 0) this.firstPushAt = now;
      if (this.keepPushTimes) this.pushTimes.push(now);
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bench client: no ${what} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = (): void => {
        if (condition()) {
          clearTimeout(timer);
          resolve();
        } else if (this.closedAt > 0 && what !== 'the TCP close') {
          clearTimeout(timer);
          // A refusal says which (a 503 for no worker in time reads apart from a reset).
          const refused = this.refusal === undefined ? '' : `: refused with ${this.refusal.status}`;
          reject(new Error(`bench client: closed before ${what}${refused}`));
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }
}

export interface OpenClientsOptions {
  /** Handshakes in flight at once (a new one starts as one completes). */
  concurrency?: number;
  /** How long each handshake may take (BenchClient.open's bound). */
  timeoutMs?: number;
  /** Starts no new handshake after this long: fewer than `count` clients then. */
  deadlineMs?: number;
}

/**
 * Opens `count` clients, `concurrency` handshakes at a time; client i goes to
 * ports[i % ports.length]. Resolves with them in that order; rejects if one fails.
 */
export async function openClients(
  ports: number | readonly number[],
  count: number,
  options: OpenClientsOptions = {},
): Promise<BenchClient[]> {
  const targets = typeof ports === 'number' ? [ports] : ports;
  const { concurrency = OPEN_CONCURRENCY, timeoutMs = 30_000, deadlineMs = Infinity } = options;
  const clients: BenchClient[] = [];
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && Date.now() - started < deadlineMs) {
        const slot = next++;
        clients[slot] = await BenchClient.open(targets[slot % targets.length], timeoutMs);
      }
    }),
  );
  return clients;
}
