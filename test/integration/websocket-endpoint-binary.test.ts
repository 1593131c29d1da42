import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Opcode } from '../../src/shared/protocol/constants';
import { encodeFrame } from '../../src/shared/protocol/frame';
import { WebSocketEndpoint } from '../../workers/websocket-endpoint';
import { Conditions, HANG_BOUND_MS } from '../helpers/wait';

/**
 * --binary on the client's side of a worker: binary messages in (onBinary) and out
 * (sendBinary), over a real loopback TCP connection past the handshake.
 */
describe('WebSocketEndpoint binary messages', () => {
  let server: net.Server;
  let client: net.Socket;
  let endpoint: WebSocketEndpoint;
  const received: Buffer[] = [];
  let fromServer = Buffer.alloc(0);
  const conditions = new Conditions();

  beforeAll(async () => {
    server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.on('data', (chunk) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      conditions.wake();
    });
    endpoint = new WebSocketEndpoint(
      await accepted,
      { maxMessageSize: 1 << 20, pingIntervalMs: 0, maxBuffered: 1 << 20, overBufferedMs: 30_000 },
      {
        onText: () => undefined,
        onBinary: (data) => {
          received.push(data);
          conditions.wake();
        },
        onLog: () => undefined,
        onClosed: () => undefined,
      },
    );
    endpoint.start(Buffer.alloc(0));
  });

  afterAll(async () => {
    client.destroy();
    endpoint.close(1000);
    await new Promise((resolve) => server.close(resolve));
  });

  test('a binary message from the client arrives whole, every byte value intact', async () => {
    const data = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    client.write(encodeFrame(Opcode.Binary, data, { mask: Buffer.from([9, 8, 7, 6]) }));
    await conditions.until(() => received.length === 1, 'the binary message', HANG_BOUND_MS);
    expect(received[0].equals(data)).toBe(true);
  });

  test('sendBinary sends one unmasked binary frame', async () => {
    const data = Buffer.from([0, 10, 13, 255, 128]);
    endpoint.sendBinary(data);
    await conditions.until(() => fromServer.length >= 7, 'the frame', HANG_BOUND_MS);
    expect(fromServer.subarray(0, 7)).toEqual(Buffer.from([0x82, 5, 0, 10, 13, 255, 128]));
  });
});
