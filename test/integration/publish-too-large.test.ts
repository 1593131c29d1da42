import net from 'node:net';
import { DRAIN_MS } from '../../src/master/http/refuse-and-drain';
import { startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { HANG_BOUND_MS, once, waitFor } from '../helpers/wait';

const TOKEN = 'test-publish-token';
const MAX = 1000;
const REASON = `Body over --max-message-size (${MAX} bytes)\n`;

function head(port: number, framing: 'chunked' | 'length', length = 0): string {
  const lines = [
    'POST /publish HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    `Authorization: Bearer ${TOKEN}`,
    framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

const CHUNK_DATA = 'x'.repeat(4000);
const CHUNK = `${CHUNK_DATA.length.toString(16)}\r\n${CHUNK_DATA}\r\n`;

/** A chunked body's content (the test's own decoder, independent of the server's). */
function dechunk(text: string): string {
  let content = '';
  for (let at = 0; ;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return content;
    content += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** A whole 413 (status, Connection: close, the whole reason) and nothing after it. */
function expectComplete413(text: string): void {
  const end = text.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  const [status, ...headers] = text.slice(0, end).split('\r\n');
  expect(status).toBe('HTTP/1.1 413 Payload Too Large');
  expect(headers).toContain('Connection: close');
  const rest = text.slice(end + 4);
  // Nothing after it either (such as a 400 for the cut-off body).
  if (headers.includes('Transfer-Encoding: chunked')) {
    expect(dechunk(rest)).toBe(REASON);
    expect(rest.endsWith('0\r\n\r\n')).toBe(true);
  } else {
    expect(headers).toContain(`Content-Length: ${Buffer.byteLength(REASON)}`);
    expect(rest).toBe(REASON);
  }
}

/**
 * A client uploading a body over a raw socket, recording what a user would see:
 * the bytes of the answer, a clean end (FIN) or a reset, and each write's fate.
 */
class Uploader {
  text = '';
  ended = false;
  readonly errors: string[] = [];
  readonly closed: Promise<unknown>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => (this.text += chunk.toString('latin1')));
    socket.on('end', () => (this.ended = true));
    socket.on('error', (error: NodeJS.ErrnoException) => this.errors.push(error.code ?? ''));
    this.closed = once(socket, 'close', 'the connection to close');
  }

  static async connect(port: number): Promise<Uploader> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect', 'the connection');
    return new Uploader(socket);
  }

  /** Resolves once the kernel has the bytes; false if the connection failed instead. */
  write(data: string): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve(false);
      this.socket.write(data, (error) => resolve(error === undefined || error === null));
    });
  }

  /** What a user sees at the end: the answer, read whole, and a clean close. */
  async expectAnswered(): Promise<void> {
    await this.closed;
    expect(this.errors).toEqual([]); // no ECONNRESET or EPIPE
    expect(this.ended).toBe(true);
    expectComplete413(this.text);
  }
}

describe('POST /publish: a body over --max-message-size gets a 413 the client can read', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer(['--max-message-size', String(MAX)], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
  });
  afterAll(stopAllServers);

  test.each([
    ['chunked (no Content-Length)', 'chunked' as const],
    ['with a Content-Length', 'length' as const],
  ])(
    '%s: clients that send their whole body before they read get the whole 413',
    async (_name, framing) => {
      // As many clients upload: all of the body, then read the answer. Refused after
      // its first chunk, the client keeps writing; a server that closed at once would
      // answer those bytes with a reset, which fails the client's writes or reads and
      // can lose the answer it had not read yet. Three rounds: a reset is a race.
      for (let round = 0; round < 3; round++) {
        const more = 50;
        const client = await Uploader.connect(server.port);
        client.socket.pause();
        const first = framing === 'chunked' ? CHUNK : CHUNK_DATA;
        const length = CHUNK_DATA.length * (more + 1);
        expect(await client.write(head(server.port, framing, length) + first)).toBe(true);
        await server.waitForLog(
          new RegExp(`413 for 127\\.0\\.0\\.1:${client.socket.localPort} POST /publish`),
        );
        const writes: boolean[] = [];
        for (let i = 0; i < more; i++) writes.push(await client.write(first));
        if (framing === 'chunked') writes.push(await client.write('0\r\n\r\n'));
        expect(writes.every(Boolean)).toBe(true);
        client.socket.resume();
        await client.expectAnswered();
      }
    },
  );

  test('a client sending chunks until it is answered reads the whole 413, then both close', async () => {
    const client = await Uploader.connect(server.port);
    client.socket.write(head(server.port, 'chunked'));
    const pump = (): void => {
      while (client.text === '' && client.socket.writable && client.socket.write(CHUNK));
      if (client.text === '') client.socket.once('drain', pump);
    };
    pump();
    // The server's FIN follows the answer; this client then closes its side too.
    await client.expectAnswered();
    expect(server.output).not.toMatch(/400 for/);
  });

  test('a client that trickles its body for ever is cut off after the drain bound', async () => {
    // allowHalfOpen: the server's FIN alone does not close this client's side.
    const socket = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    await once(socket, 'connect', 'the connection');
    const started = Date.now();
    socket.write(head(server.port, 'chunked') + CHUNK);
    await once(socket, 'end', "the server's FIN after its answer");
    expectComplete413(text);
    // A chunk every 100 ms: read and dropped until the bound, then the socket is gone
    // and the next write meets a reset.
    await waitFor(
      () => {
        if (socket.destroyed) return true;
        socket.write(CHUNK);
        return false;
      },
      'the server to close',
      DRAIN_MS + HANG_BOUND_MS,
      100,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(DRAIN_MS - 500);
  }, 30000);

  test('the server still publishes after all that', async () => {
    const response = await fetch(`${server.httpUrl}/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: 'small enough',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ queued: 0 });
  });
});
