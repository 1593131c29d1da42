import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Conditions, HANG_BOUND_MS } from './wait';

/** A frame as the server sent it. Parsed here independently of the server's own decoder. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export function parseServerFrame(data: Buffer): { frame: ServerFrame; size: number } | undefined {
  if (data.length < 2) return undefined;
  let length = data[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (data[1] & 0x80) !== 0;
  if (masked) offset += 4;
  if (data.length < offset + length) return undefined;
  return {
    frame: {
      fin: (data[0] & 0x80) !== 0,
      opcode: data[0] & 0x0f,
      masked,
      payload: Buffer.from(data.subarray(offset, offset + length)),
    },
    size: offset + length,
  };
}

/** A close frame's code and reason (code undefined when the payload is empty). */
export function closeOf(frame: ServerFrame): { code?: number; reason: string } {
  if (frame.payload.length < 2) return { reason: '' };
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString() };
}

export function handshakeRequest(
  port: number,
  headers: Record<string, string> = {},
  path = '/',
): string {
  const all: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export interface HttpHead {
  status: number;
  headers: Record<string, string>;
  raw: string;
}

/**
 * A WebSocket client over a raw TCP socket, for sending exactly the bytes a test
 * wants (broken frames included) and seeing exactly what comes back.
 */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private head: HttpHead | undefined;
  readonly frames: ServerFrame[] = [];
  closed = false;
  private readonly conditions = new Conditions();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.conditions.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.conditions.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /**
   * Connects and sends an upgrade request for `target` (handshakeRequest's headers,
   * overridden by `headers`); resolves with the answer's status and headers, and the
   * client, destroyed unless the answer was 101.
   */
  static async upgrade(
    port: number,
    headers: Record<string, string> = {},
    target = '/',
  ): Promise<{ status: number; headers: Record<string, string>; client: RawClient }> {
    const client = await RawClient.connect(port);
    client.send(handshakeRequest(port, headers, target));
    const head = await client.response();
    if (head.status !== 101) client.destroy();
    return { status: head.status, headers: head.headers, client };
  }

  /** Connects and completes a handshake; fails unless the answer is 101. */
  static async open(port: number, headers: Record<string, string> = {}): Promise<RawClient> {
    const { status, client } = await RawClient.upgrade(port, headers);
    if (status !== 101) throw new Error(`expected 101, got ${(await client.response()).raw}`);
    return client;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The HTTP response head (and, for an error, its body in `raw`). */
  async response(timeoutMs = HANG_BOUND_MS): Promise<HttpHead> {
    await this.conditions.until(
      () => this.head !== undefined || this.closed,
      'an HTTP response',
      timeoutMs,
    );
    if (this.head === undefined) {
      throw new Error(`connection closed without a response: ${this.buffer.toString()}`);
    }
    return this.head;
  }

  /** Everything the server sent before closing (for error responses with a body). */
  async responseText(timeoutMs = HANG_BOUND_MS): Promise<string> {
    await this.conditions.until(() => this.closed, 'the connection to close', timeoutMs);
    return (this.head?.raw ?? '') + this.buffer.toString();
  }

  /** The next frame (removed from the queue). */
  async nextFrame(timeoutMs = HANG_BOUND_MS): Promise<ServerFrame> {
    await this.conditions.until(() => this.frames.length > 0, 'a frame', timeoutMs);
    return this.frames.shift() as ServerFrame;
  }

  /** The next frame (removed from the queue), or undefined once the connection has closed. */
  async frameOrEnd(timeoutMs = HANG_BOUND_MS): Promise<ServerFrame | undefined> {
    await this.conditions.until(
      () => this.frames.length > 0 || this.closed,
      'a frame or the close',
      timeoutMs,
    );
    return this.frames.shift();
  }

  /** Skips data frames until a close frame arrives; returns its code and reason. */
  async closeFrame(timeoutMs = HANG_BOUND_MS): Promise<{ code?: number; reason: string }> {
    await this.conditions.until(
      () => this.frames.some((f) => f.opcode === 0x8),
      'a close frame',
      timeoutMs,
    );
    return closeOf(this.frames.find((f) => f.opcode === 0x8) as ServerFrame);
  }

  /** Resolves once the server has closed the TCP connection. */
  tcpClosed(timeoutMs = HANG_BOUND_MS): Promise<void> {
    return this.conditions.until(() => this.closed, 'the TCP close', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    if (this.head === undefined) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const raw = this.buffer.subarray(0, end).toString('latin1');
      const [statusLine, ...lines] = raw.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      this.head = { status: Number(statusLine.split(' ')[1]), headers, raw: `${raw}\r\n\r\n` };
      this.buffer = this.buffer.subarray(end + 4);
      if (this.head.status !== 101) return;
    }
    if (this.head.status !== 101) return;
    for (
      let parsed = parseServerFrame(this.buffer);
      parsed;
      parsed = parseServerFrame(this.buffer)
    ) {
      this.frames.push(parsed.frame);
      this.buffer = this.buffer.subarray(parsed.size);
    }
  }
}
