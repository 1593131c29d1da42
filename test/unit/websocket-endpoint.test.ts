import net from 'node:net';
import { CloseCode, Opcode } from '../../src/shared/protocol/constants';
import { encodeClose, encodeFrame, encodeText } from '../../src/shared/protocol/frame';
import { Receiver, type ReceiverEvent } from '../../src/shared/protocol/receiver';
import { WebSocketEndpoint, type WebSocketEndpointOptions } from '../../workers/websocket-endpoint';

/**
 * The worker's WebSocket side on a real loopback TCP connection: the endpoint owns the
 * server end, the test plays the client with raw frames. Every wait is bounded.
 */

const MASK = Buffer.from([1, 2, 3, 4]);
const WAIT_MS = 3000;

interface Peer {
  endpoint: WebSocketEndpoint;
  client: net.Socket;
  /** Frames the client received, decoded. */
  received: ReceiverEvent[];
  texts: string[];
  logs: [string, string][];
  closedCount: () => number;
  /** Resolves once `check` holds (checked on every event), or rejects after WAIT_MS. */
  until(what: string, check: () => boolean): Promise<void>;
  /** Resolves when the client's TCP connection has closed. */
  clientClosed: Promise<void>;
}

let server: net.Server;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function connect(
  options: Partial<WebSocketEndpointOptions> = {},
  head: Buffer = Buffer.alloc(0),
): Promise<Peer> {
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  const serverSide = await accepted;
  sockets.push(client, serverSide);
  await new Promise<void>((resolve) => {
    if (client.readyState === 'open') resolve();
    else client.once('connect', () => resolve());
  });

  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const received: ReceiverEvent[] = [];
  const texts: string[] = [];
  const logs: [string, string][] = [];
  let closed = 0;
  const decoder = new Receiver({ maxMessageSize: 1 << 20, expectMasked: false });
  client.on('data', (chunk: Buffer) => {
    received.push(...decoder.push(chunk));
    notify();
  });
  client.on('error', () => undefined);
  const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  void clientClosed.then(notify);

  const endpoint = new WebSocketEndpoint(
    serverSide,
    {
      maxMessageSize: 1000,
      pingIntervalMs: 0,
      closeTimeoutMs: 200,
      maxBuffered: 1 << 20,
      overBufferedMs: 10_000,
      ...options,
    },
    {
      onText: (text) => {
        texts.push(text);
        notify();
      },
      onLog: (level, message) => {
        logs.push([level, message]);
        notify();
      },
      onClosed: () => {
        closed++;
        notify();
      },
    },
  );
  endpoint.start(head);

  const until = (what: string, check: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const listener = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve();
      };
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`timed out waiting for ${what}`));
      }, WAIT_MS);
      listeners.add(listener);
      listener();
    });

  return {
    endpoint,
    client,
    received,
    texts,
    logs,
    closedCount: () => closed,
    until,
    clientClosed,
  };
}

const closeFrames = (peer: Peer): Extract<ReceiverEvent, { type: 'close' }>[] =>
  peer.received.filter((event) => event.type === 'close');

describe('WebSocketEndpoint', () => {
  it('delivers a text message to onText, also one split over many writes', async () => {
    const peer = await connect();
    peer.client.write(encodeText('hello', { mask: MASK }));
    await peer.until('the first message', () => peer.texts.length === 1);
    const frame = encodeText('split in bytes', { mask: MASK });
    for (const byte of frame) peer.client.write(Buffer.from([byte]));
    await peer.until('the second message', () => peer.texts.length === 2);
    expect(peer.texts).toEqual(['hello', 'split in bytes']);
    expect(peer.endpoint.isOpen).toBe(true);
  });

  it('reads the bytes the master passed along as head first', async () => {
    const head = Buffer.concat([
      encodeText('from the head', { mask: MASK }),
      encodeText('also', { mask: MASK }),
    ]);
    const peer = await connect({}, head);
    peer.client.write(encodeText('then the socket', { mask: MASK }));
    await peer.until('three messages', () => peer.texts.length === 3);
    expect(peer.texts).toEqual(['from the head', 'also', 'then the socket']);
  });

  it('sends text as one unmasked text frame', async () => {
    const peer = await connect();
    peer.endpoint.sendText('pushed ✓');
    await peer.until('a text frame', () => peer.received.length === 1);
    expect(peer.received).toEqual([{ type: 'text', text: 'pushed ✓' }]);
  });

  it('sends frames framed elsewhere (publications) as they are, and counts each', async () => {
    const peer = await connect();
    peer.endpoint.sendText('own');
    peer.endpoint.sendFrames(Buffer.concat([encodeText('pub one'), encodeText('pub two')]), 2);
    await peer.until('three text frames', () => peer.received.length === 3);
    expect(peer.received.map((event) => (event.type === 'text' ? event.text : ''))).toEqual([
      'own',
      'pub one',
      'pub two',
    ]);
    expect(peer.endpoint.framesSent).toBe(3);
  });

  it('answers a ping with a pong carrying the same data', async () => {
    const peer = await connect();
    peer.client.write(encodeFrame(Opcode.Ping, Buffer.from('are you there'), { mask: MASK }));
    await peer.until('a pong', () => peer.received.length === 1);
    expect(peer.received[0]).toEqual({ type: 'pong', data: Buffer.from('are you there') });
  });

  it("echoes the client's close code, closes, and calls onClosed once", async () => {
    const peer = await connect();
    peer.client.write(encodeClose(CloseCode.Normal, 'bye', { mask: MASK }));
    await peer.until('the close echo', () => closeFrames(peer).length === 1);
    expect(closeFrames(peer)[0].code).toBe(CloseCode.Normal);
    expect(peer.endpoint.isOpen).toBe(false);
    peer.client.end(); // the client's FIN completes the closing handshake
    await peer.until('onClosed', () => peer.closedCount() === 1);
    await peer.clientClosed;
    expect(peer.closedCount()).toBe(1);
    expect(peer.logs).toContainEqual(['debug', 'client sent close 1000']);
    // Nothing more is sent after the close.
    peer.endpoint.sendText('too late');
    peer.endpoint.close(CloseCode.GoingAway);
    expect(peer.received.filter((event) => event.type === 'text')).toEqual([]);
  });

  it('a close with no code is echoed with no code', async () => {
    const peer = await connect();
    peer.client.write(encodeClose(undefined, '', { mask: MASK }));
    await peer.until('the close echo', () => closeFrames(peer).length === 1);
    expect(closeFrames(peer)[0].code).toBeUndefined();
  });

  it('a protocol error closes with its code and is logged', async () => {
    const peer = await connect();
    // A client frame must be masked (RFC 6455, section 5.1): 1002.
    peer.client.write(encodeText('not masked'));
    await peer.until('the close frame', () => closeFrames(peer).length === 1);
    expect(closeFrames(peer)[0].code).toBe(CloseCode.ProtocolError);
    expect(peer.texts).toEqual([]);
    expect(peer.logs.some(([level, line]) => level === 'warn' && line.includes('1002'))).toBe(true);
    // The client does not answer: the endpoint gives up after closeTimeoutMs.
    await peer.clientClosed;
    await peer.until('onClosed', () => peer.closedCount() === 1);
  });

  it('a message over maxMessageSize closes with 1009', async () => {
    const peer = await connect({ maxMessageSize: 10 });
    peer.client.write(encodeText('eleven byte', { mask: MASK }));
    await peer.until('the close frame', () => closeFrames(peer).length === 1);
    expect(closeFrames(peer)[0].code).toBe(CloseCode.MessageTooBig);
  });

  it('keepalive: drops a silent client after two intervals with 1001', async () => {
    const peer = await connect({ pingIntervalMs: 40, closeTimeoutMs: 100 });
    await peer.until('the close frame', () => closeFrames(peer).length === 1);
    // Pings before it (none if the loop was too busy to tick within two intervals).
    expect(peer.received.slice(0, -1).every((event) => event.type === 'ping')).toBe(true);
    const close = closeFrames(peer)[0];
    expect(close).toEqual({ type: 'close', code: CloseCode.GoingAway, reason: 'ping timeout' });
    expect(peer.logs).toContainEqual(['info', 'client silent for two ping intervals, dropping it']);
    expect(peer.endpoint.isOpen).toBe(false);
    await peer.clientClosed;
    await peer.until('onClosed', () => peer.closedCount() === 1);
  });

  it('keepalive: a client that answers stays connected', async () => {
    // 400 ms: this test process may stall for a while on a loaded CI box (it answers
    // the pings); a drop needs two whole intervals of silence.
    const peer = await connect({ pingIntervalMs: 400, closeTimeoutMs: 100 });
    let answered = 0;
    const answer = (): void => {
      const pings = peer.received.filter((event) => event.type === 'ping').length;
      for (; answered < pings; answered++) {
        peer.client.write(encodeFrame(Opcode.Pong, Buffer.alloc(0), { mask: MASK }));
      }
    };
    peer.client.on('data', answer);
    await peer.until('four pings', () => answered >= 4);
    expect(closeFrames(peer)).toEqual([]);
    expect(peer.endpoint.isOpen).toBe(true);
    peer.endpoint.close(CloseCode.Normal);
  });

  it('close() sends the close frame once; isOpen is false at once; onClosed once', async () => {
    const peer = await connect({ closeTimeoutMs: 100 });
    expect(peer.endpoint.isOpen).toBe(true);
    peer.endpoint.close(CloseCode.GoingAway, 'server going down');
    peer.endpoint.close(CloseCode.Normal, 'again');
    expect(peer.endpoint.isOpen).toBe(false);
    await peer.clientClosed;
    await peer.until('onClosed', () => peer.closedCount() === 1);
    expect(closeFrames(peer)).toEqual([
      { type: 'close', code: CloseCode.GoingAway, reason: 'server going down' },
    ]);
    expect(peer.closedCount()).toBe(1);
  });

  it('a client that just disconnects calls onClosed once', async () => {
    const peer = await connect({ pingIntervalMs: 1000 });
    peer.client.destroy();
    await peer.until('onClosed', () => peer.closedCount() === 1);
    expect(peer.endpoint.isOpen).toBe(false);
    peer.endpoint.sendText('nobody listens');
    expect(peer.closedCount()).toBe(1);
  });
});
