import { Opcode } from '../../src/shared/protocol/constants';
import { encodeFrame } from '../../src/shared/protocol/frame';
import { RawClient, handshakeRequest } from '../helpers/raw-client';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';

const MASK = { mask: Buffer.from([9, 8, 7, 6]) };

/** A text message that tries to forge a log line and to colour the terminal. */
const FORGED =
  'hello\n[2026-11-26 21:00:00] Received SIGTERM: closing every client with 1001' +
  '\r\x1b[31mred\x1b[0m \u0085\u009b31m \u2028end';
/** How it must appear: on its own line, every control character written out. */
const FORGED_ESCAPED =
  'hello\\x0a[2026-11-26 21:00:00] Received SIGTERM: closing every client with 1001' +
  '\\x0d\\x1b[31mred\\x1b[0m \\x85\\x9b31m \\u2028end';

// eslint-disable-next-line no-control-regex -- what must never reach a log line
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const TEXT_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] /;

/** The hostile traffic: a forged message, a hostile path and header, a 404 with escapes. */
async function attack(server: ServerProcess): Promise<void> {
  const request = handshakeRequest(
    server.port,
    { 'X-Odd': 'a\x85b\x9b[31mc\xff', 'User-Agent': 'evil\x9b2J' },
    '/feed?x=%0A%1B[31m%0D',
  );
  const client = await RawClient.connect(server.port);
  // latin1: each char one byte, so the header carries the raw bytes 0x85, 0x9b, 0xff.
  client.send(Buffer.from(request, 'latin1'));
  expect((await client.response()).status).toBe(101);
  client.send(encodeFrame(Opcode.Text, Buffer.from(FORGED), MASK));
  await server.waitForLog(/Performing action: hello/);

  const notFound = await RawClient.connect(server.port);
  notFound.send(
    Buffer.from(
      `GET /%0A[2026-11-26%2021:00:00]%1B HTTP/1.1\r\nHost: x\r\nX-Odd: \x9b\r\n\r\n`,
      'latin1',
    ),
  );
  expect((await notFound.response()).status).toBe(404);
  await server.waitForLog(/404 for /);
  client.send(encodeFrame(Opcode.Text, Buffer.from('quit'), MASK));
  await client.tcpClosed();
}

/** No control character reaches the output; the line structure is the server's own. */
function expectClean(server: ServerProcess): void {
  expect(server.output).not.toMatch(UNSAFE);
  expect(server.output).not.toContain('\x1b');
}

describe('logs cannot be forged by what clients, requests and commands send', () => {
  afterAll(stopAllServers);

  test('text format: the forged line stays inside the real one, escaped', async () => {
    const server = await startServer([...FAST, '--verbose']);
    await attack(server);
    expectClean(server);
    const lines = server.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(TEXT_LINE);
    // Only the server itself says it received SIGTERM, and it has not yet.
    expect(lines.filter((line) => /^\[[^\]]*\] Received SIGTERM/.test(line))).toEqual([]);
    const action = lines.filter((line) => line.includes('Performing action'));
    expect(action).toHaveLength(1);
    expect(action[0]).toContain(`Performing action: ${FORGED_ESCAPED}`);
    // The request line and the headers (logged with --verbose), and the 404's path.
    expect(server.stdout).toContain('GET /feed?x=%0A%1B[31m%0D HTTP/1.1');
    expect(server.stdout).toContain('"x-odd":"a\\x85b\\x9b[31mc\u00ff"');
    expect(server.stdout).toContain('"user-agent":"evil\\x9b2J"');
    expect(server.stdout).toMatch(/404 for \S+ GET \/%0A\[2026-11-26%2021:00:00\]%1B: Not found/);
  });

  test('json format: one object a line, its strings escaped', async () => {
    const server = await startServer([...FAST, '--verbose', '--log-format', 'json']);
    await attack(server);
    expectClean(server);
    const lines = server.stdout.trimEnd().split('\n');
    const objects = lines.map((line) => JSON.parse(line) as { message: string; level: string });
    for (const object of objects) expect(object.message).not.toMatch(UNSAFE);
    const action = objects.filter((o) => o.message.startsWith('Performing action'));
    expect(action).toHaveLength(1);
    expect(action[0].message).toBe(`Performing action: ${FORGED_ESCAPED}`);
    expect(objects.some((o) => o.message.includes('"x-odd":"a\\x85b\\x9b[31mc\u00ff"'))).toBe(true);
  });

  test.each(['text', 'json'])(
    '%s format: an --exec command cannot forge lines on stderr',
    async (format) => {
      const server = await startServer([
        '--log-format',
        format,
        '--exec',
        `sh -c 'printf "a\\nb\\033[31m\\r[2026-11-26 21:00:00] forged\\n" >&2; cat'`,
      ]);
      const client = await RawClient.open(server.port);
      await server.waitForLog(/sh stderr: b/);
      expectClean(server);
      const lines = server.stdout.trimEnd().split('\n');
      const stderrLines = lines.filter((line) => line.includes('sh stderr:'));
      expect(stderrLines).toHaveLength(2);
      expect(stderrLines[1]).toContain(
        format === 'json'
          ? 'sh stderr: b\\\\x1b[31m\\\\x0d[2026-11-26 21:00:00] forged'
          : 'sh stderr: b\\x1b[31m\\x0d[2026-11-26 21:00:00] forged',
      );
      if (format === 'text') for (const line of lines) expect(line).toMatch(TEXT_LINE);
      else for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
      client.destroy();
    },
  );
});
