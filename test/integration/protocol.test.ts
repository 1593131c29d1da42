import { Opcode } from '../../src/shared/protocol/constants';
import { encodeClose, encodeFrame, encodeText } from '../../src/shared/protocol/frame';
import { procStat } from '../helpers/proc';
import { RawClient } from '../helpers/raw-client';
import { startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';

/**
 * RFC 6455 over real TCP against the real server: one row per rule, the bytes a
 * client sends after the handshake and the close code the worker must answer with,
 * followed by the TCP close and the worker's exit.
 */
const LIMIT = 70000;
const mask = Buffer.from([0xa1, 0xb2, 0xc3, 0xd4]);
const m = { mask };

function frame(
  opcode: number,
  payload: Buffer | string,
  options: { fin?: boolean; rsv?: number } = {},
): Buffer {
  return encodeFrame(opcode, Buffer.from(payload), { ...m, ...options });
}

function closeWith(code: number, reason: Buffer = Buffer.alloc(0)): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return frame(Opcode.Close, Buffer.concat([payload, reason]));
}

const rules: [string, Buffer, number | undefined][] = [
  [
    '"quit" in two fragments quits',
    Buffer.concat([frame(1, 'qu', { fin: false }), frame(0, 'it')]),
    1000,
  ],
  ['a client close 1000 is echoed', encodeClose(1000, 'bye', m), 1000],
  ['a client close 3000 is echoed', encodeClose(3000, '', m), 3000],
  ['a client close with no code gets none back', encodeClose(undefined, '', m), undefined],
  ['close payload of 1 byte', frame(Opcode.Close, Buffer.from([3])), 1002],
  ...[0, 999, 1004, 1005, 1006, 1015, 5000].map((code): [string, Buffer, number] => [
    `close code ${code}`,
    closeWith(code),
    1002,
  ]),
  ['close reason not UTF-8', closeWith(1000, Buffer.from([0xc3, 0x28])), 1007],
  ['unmasked client frame', encodeText('hello'), 1002],
  ['RSV1 set (no extension negotiated)', frame(1, 'x', { rsv: 4 }), 1002],
  ['RSV2 set', frame(1, 'x', { rsv: 2 }), 1002],
  ['RSV3 set', frame(1, 'x', { rsv: 1 }), 1002],
  ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((op): [string, Buffer, number] => [
    `reserved opcode ${op}`,
    frame(op, ''),
    1002,
  ]),
  ['ping longer than 125 bytes', frame(Opcode.Ping, Buffer.alloc(126)), 1002],
  ['fragmented ping', frame(Opcode.Ping, 'p', { fin: false }), 1002],
  ['continuation with no message open', frame(0, 'x'), 1002],
  [
    'new data frame while a message is open',
    Buffer.concat([frame(1, 'a', { fin: false }), frame(2, 'b')]),
    1002,
  ],
  [
    '64-bit length with the top bit set',
    Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, ...mask]),
    1002,
  ],
  ['invalid UTF-8 in a text message', frame(1, Buffer.from([0x68, 0xff, 0x69])), 1007],
  [
    'invalid UTF-8 fails before the frame is complete',
    frame(1, Buffer.concat([Buffer.from([0xf5]), Buffer.alloc(1000, 0x61)])).subarray(0, 9),
    1007,
  ],
  [
    'invalid UTF-8 across fragments',
    Buffer.concat([
      frame(1, Buffer.from([0xe2, 0x82]), { fin: false }),
      frame(0, Buffer.from([0x41])),
    ]),
    1007,
  ],
  [
    'message over --max-message-size (decided from the header)',
    frame(2, Buffer.alloc(LIMIT + 1)).subarray(0, 14),
    1009,
  ],
  [
    'fragments over --max-message-size together',
    Buffer.concat([frame(2, Buffer.alloc(LIMIT), { fin: false }), frame(0, Buffer.alloc(1))]),
    1009,
  ],
];

describe('RFC 6455 rules over raw TCP', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer([
      '--max-message-size',
      String(LIMIT),
      '--ping-interval',
      '0',
      '--spare-workers',
      '4',
    ]);
  });
  afterAll(stopAllServers);

  async function openRaw(): Promise<{ client: RawClient; pid: number }> {
    const client = await RawClient.open(server.port);
    const hello = await client.nextFrame();
    const pid = Number(/PID (\d+)/.exec(hello.payload.toString())?.[1]);
    return { client, pid };
  }

  test.each(rules)('%s → close %s', async (_name, bytes, code) => {
    const { client, pid } = await openRaw();
    client.send(bytes);
    const close = await client.closeFrame();
    expect(close.code).toBe(code);
    await client.tcpClosed();
    await waitFor(() => procStat(pid) === undefined, `worker ${pid} to exit`);
  });

  test('a ping gets a pong with the same payload, also between fragments', async () => {
    const { client } = await openRaw();
    client.send(frame(Opcode.Ping, 'first'));
    client.send(
      Buffer.concat([
        frame(1, 'hel', { fin: false }),
        frame(Opcode.Ping, 'second'),
        frame(0, 'lo'),
      ]),
    );
    const pongs: string[] = [];
    while (pongs.length < 2) {
      const next = await client.nextFrame();
      if (next.opcode === Opcode.Pong) pongs.push(next.payload.toString());
    }
    expect(pongs).toEqual(['first', 'second']);
    await server.waitForLog(/Performing action: hello/);
    client.send(encodeText('quit', m));
    expect((await client.closeFrame()).code).toBe(1000);
  });

  test('an unsolicited pong is ignored', async () => {
    const { client, pid } = await openRaw();
    client.send(frame(Opcode.Pong, 'unasked'));
    client.send(encodeText('still here', m));
    await server.waitForLog(
      new RegExp(`Performing action: still here \\(client #\\d+, pid ${pid}\\)`),
    );
    expect(client.frames.filter((f) => f.opcode === Opcode.Close)).toEqual([]);
    client.destroy();
  });

  test.each([
    ['7-bit', 125],
    ['16-bit', 65535],
    ['64-bit', LIMIT],
  ])('messages up to the limit are accepted (%s length, text and binary)', async (_name, size) => {
    const { client, pid } = await openRaw();
    client.send(frame(2, Buffer.alloc(size, 1)));
    client.send(frame(1, 'a'.repeat(size - 1) + '!'));
    client.send(encodeText('quit', m));
    expect((await client.closeFrame()).code).toBe(1000);
    await server.waitForLog(
      new RegExp(`Performing action: a{100}.*\\(client #\\d+, pid ${pid}\\)`),
    );
  });

  test('the server frames it sends are unmasked, with every length in network order', async () => {
    const { client } = await openRaw();
    const push = await client.nextFrame();
    expect(push).toMatchObject({ fin: true, opcode: 1, masked: false });
    expect(push.payload.toString()).toMatch(/^I am waiting [2-5] seconds$/);
    client.destroy();
  });
});

describe('keepalive', () => {
  afterAll(stopAllServers);

  test('the worker pings, and drops a client that has sent nothing for two intervals', async () => {
    const server = await startServer(['--ping-interval', '0.2']);
    const client = await RawClient.open(server.port);
    const hello = await client.nextFrame();
    const pid = Number(/PID (\d+)/.exec(hello.payload.toString())?.[1]);
    const close = await client.closeFrame(5000);
    expect(client.frames.some((f) => f.opcode === Opcode.Ping)).toBe(true);
    expect(close.code).toBe(1001);
    await client.tcpClosed();
    await server.waitForLog(new RegExp(`silent for two ping intervals.*pid ${pid}`));
  });

  test('a client that answers pings is kept', async () => {
    const server = await startServer(['--ping-interval', '0.2']);
    const client = await RawClient.open(server.port);
    let pings = 0;
    while (pings < 6) {
      const next = await client.nextFrame(3000);
      if (next.opcode === Opcode.Close) throw new Error('closed while answering pings');
      if (next.opcode === Opcode.Ping) {
        pings++;
        client.send(frame(Opcode.Pong, next.payload));
      }
    }
    expect(client.closed).toBe(false);
    client.destroy();
  });
});
