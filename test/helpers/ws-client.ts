import WebSocket from 'ws';
import { wsText } from './ws-text';
import { Conditions, HANG_BOUND_MS } from './wait';

/** A `ws` client that records every message and its close, for awaiting them with bounds. */
export class WsClient {
  readonly messages: string[] = [];
  /** The same messages as received: bytes, and whether each was a binary message. */
  readonly received: { data: Buffer; binary: boolean }[] = [];
  closeCode: number | undefined;
  closeReason: string | undefined;
  private readonly conditions = new Conditions();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      this.messages.push(wsText(data));
      // The default binaryType: a Buffer (an array of them only for fragments, if asked).
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      this.received.push({ data: bytes, binary });
      this.conditions.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.conditions.wake();
    });
    ws.on('error', () => undefined);
  }

  static open(
    url: string,
    timeoutMs = HANG_BOUND_MS,
    options?: WebSocket.ClientOptions,
  ): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new WsClient(ws);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** The worker's PID from its hello frame. */
  async workerPid(timeoutMs = HANG_BOUND_MS): Promise<number> {
    await this.waitForMessages(1, timeoutMs);
    const match = /^Connected to worker PID (\d+) as client #(\d+)$/.exec(this.messages[0]);
    if (match === null) throw new Error(`first frame is not the hello: ${this.messages[0]}`);
    return Number(match[1]);
  }

  /** Resolves once the messages so far satisfy `condition`. */
  until(
    condition: (messages: string[]) => boolean,
    what: string,
    timeoutMs = HANG_BOUND_MS,
  ): Promise<void> {
    return this.conditions.until(
      () => condition(this.messages),
      what,
      timeoutMs,
      () => `; got ${JSON.stringify(this.messages.slice(-20))}`,
    );
  }

  waitForMessages(count: number, timeoutMs = HANG_BOUND_MS): Promise<void> {
    return this.conditions.until(
      () => this.messages.length >= count,
      `${count} messages`,
      timeoutMs,
      () => `; got ${this.messages.length} messages`,
    );
  }

  /** Resolves with the close code once the connection has fully closed. */
  async closed(timeoutMs = HANG_BOUND_MS): Promise<number> {
    await this.conditions.until(
      () => this.ws.readyState === WebSocket.CLOSED,
      'the close',
      timeoutMs,
    );
    return this.closeCode as number;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/**
 * The HTTP status a handshake was refused with (ws says "Unexpected server response:
 * 503"), or undefined when it was accepted (the connection is then closed at once).
 */
export async function handshakeRefusal(
  url: string,
  options?: WebSocket.ClientOptions,
): Promise<number | undefined> {
  try {
    (await WsClient.open(url, HANG_BOUND_MS, options)).terminate();
    return undefined;
  } catch (error) {
    const match = /Unexpected server response: (\d+)/.exec((error as Error).message);
    if (match === null) throw error;
    return Number(match[1]);
  }
}

/**
 * The clients a test opened, to be ended together after it (afterEach/afterAll), so a
 * failed assertion leaves no socket open: `const opened = new OpenClients()`, then
 * `opened.track(await WsClient.open(url))` and `opened.terminateAll()`.
 */
export class OpenClients {
  private readonly open: WsClient[] = [];

  track<T extends WsClient>(client: T): T {
    this.open.push(client);
    return client;
  }

  terminateAll(): void {
    for (const client of this.open.splice(0)) client.terminate();
  }
}
