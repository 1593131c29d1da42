import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../helpers/proc';
import { RawClient } from '../helpers/raw-client';
import { ROOT, startServer, stopAllServers, type ServerProcess, statusOf } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';
import { encodeFrame } from '../../src/shared/protocol/frame';
import { Opcode } from '../../src/shared/protocol/constants';

/**
 * Commands as a websocketd user runs them, through the real server: the CGI
 * environment and --passenv, quit words, --binary, the graceful end and --close-ms,
 * and a command's stderr in the log.
 */

const RECORD_END = path.join(ROOT, 'test/fixtures/record-end.sh');
/** Prints its environment, a marker, then waits for stdin to close. */
const DUMP_ENV = "sh -c 'env; echo --end--; cat > /dev/null'";
/**
 * The secret the server takes from its environment here (PUSH_WS_ADMIN_TOKEN and
 * PUSH_WS_REDIS are kept out the same way: test/unit/cgi-environment.test.ts).
 */
const SECRETS = { PUSH_WS_PUBLISH_TOKEN: 'publish-secret-value' };
/** The server's own environment in these tests: its PATH and a few of each kind. */
const SERVER_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/home/push-test',
  LANG: 'C.UTF-8',
  LC_TIME: 'C.UTF-8',
  TZ: 'UTC',
  NOT_PASSED: 'server-only',
  HTTP_COOKIE: 'inherited=1', // must never pass for a request header
  SCRIPT_NAME: '/inherited', // a CGI name: the request's value wins
};

/** NAME=value lines as a record. */
function env(lines: string[]): Record<string, string> {
  return Object.fromEntries(
    lines.filter((line) => line.includes('=')).map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
}

async function dump(
  server: ServerProcess,
  url = '/',
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const client = await WsClient.open(`${server.url.replace(/\/$/, '')}${url}`, undefined, {
    headers,
  });
  await client.until((messages) => messages.includes('--end--'), 'the environment');
  client.terminate();
  return env(client.messages);
}

afterAll(stopAllServers);

describe('the command environment', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer(['--exec', DUMP_ENV], { env: { ...SERVER_ENV, ...SECRETS } });
  });

  test('the CGI set and every request header as HTTP_*, cookies and credentials included', async () => {
    const seen = await dump(server, '/news/a%20b?lang=en&q=1', {
      Cookie: 'session=abc; theme=dark',
      Authorization: 'Bearer client-credential',
      'X-Custom-Header': 'custom value',
      Origin: 'http://app.example',
      'User-Agent': 'switching/1.0',
    });
    expect(seen).toMatchObject({
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: expect.stringMatching(/^push-websocket\/\d+\.\d+\.\d+/) as string,
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(server.port),
      REQUEST_METHOD: 'GET',
      REQUEST_URI: '/news/a%20b?lang=en&q=1',
      SCRIPT_NAME: '/',
      PATH_INFO: '/news/a b',
      QUERY_STRING: 'lang=en&q=1',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_HOST: '127.0.0.1',
      HTTP_COOKIE: 'session=abc; theme=dark',
      HTTP_AUTHORIZATION: 'Bearer client-credential',
      HTTP_X_CUSTOM_HEADER: 'custom value',
      HTTP_ORIGIN: 'http://app.example',
      HTTP_USER_AGENT: 'switching/1.0',
      HTTP_HOST: `127.0.0.1:${server.port}`,
      HTTP_UPGRADE: 'websocket',
      PUSH_WS_CLIENT_ID: expect.stringMatching(/^\d+$/) as string,
    });
    expect(Number(seen.REMOTE_PORT)).toBeGreaterThan(0);
  });

  test('of the server’s own variables only the default --passenv list: PATH, LANG, LC_*, TZ, HOME', async () => {
    const seen = await dump(server);
    for (const name of ['PATH', 'HOME', 'LANG', 'LC_TIME', 'TZ']) {
      expect([name, seen[name]]).toEqual([name, SERVER_ENV[name as keyof typeof SERVER_ENV]]);
    }
    expect(seen.NOT_PASSED).toBeUndefined();
    expect(seen.HTTP_COOKIE).toBeUndefined(); // inherited, and this request sent none
    expect(seen.SCRIPT_NAME).toBe('/');
    expect(Object.keys(seen).filter((name) => name.startsWith('PUSH_WS_'))).toEqual([
      'PUSH_WS_CLIENT_ID',
    ]);
  });

  test('a Proxy header never becomes HTTP_PROXY', async () => {
    const seen = await dump(server, '/', { Proxy: 'http://evil.example:3128' });
    expect(seen.HTTP_PROXY).toBeUndefined();
  });

  test('the secrets never reach a command, even with --passenv naming them or "*"', async () => {
    const open = await startServer(
      ['--exec', DUMP_ENV, '--passenv', `*,${Object.keys(SECRETS).join(',')}`],
      { env: { ...SERVER_ENV, ...SECRETS } },
    );
    const seen = await dump(open);
    expect(seen.NOT_PASSED).toBe('server-only'); // "*" passes the rest
    const text = JSON.stringify(seen);
    for (const value of Object.values(SECRETS)) expect(text).not.toContain(value);
    for (const name of Object.keys(SECRETS)) expect(seen[name]).toBeUndefined();
  });

  test('--reverse-lookup: REMOTE_HOST is the client’s host name', async () => {
    const lookup = await startServer(['--exec', DUMP_ENV, '--reverse-lookup']);
    const seen = await dump(lookup);
    expect(seen.REMOTE_ADDR).toBe('127.0.0.1');
    expect(seen.REMOTE_HOST).toBe('localhost'); // /etc/hosts: 127.0.0.1 localhost
  });
});

describe('quit words', () => {
  test('default (no command): "quit" and "exit" end the client with 1000', async () => {
    const server = await startServer(['--no-demo']);
    for (const word of ['quit', 'exit']) {
      const client = await WsClient.open(server.url);
      client.ws.send(word);
      expect(await client.closed()).toBe(1000);
    }
    await server.waitForLog(/Client #\d+ sent 'exit'/);
  });

  test('custom words replace them, in any mode', async () => {
    const server = await startServer(['--exec', 'cat', '--quit-words', 'bye,ciao']);
    const client = await WsClient.open(server.url);
    client.ws.send('quit');
    await client.until((messages) => messages.includes('quit'), 'quit echoed by cat');
    client.ws.send(' ciao ');
    expect(await client.closed()).toBe(1000);
    expect(client.messages).toEqual(['quit']);
    await server.waitForLog(/Client #\d+ sent 'ciao'/);
  });
});

describe('--binary', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer(['--exec', 'cat', '--binary']);
  });

  test('raw bytes round-trip both ways: every byte value, as binary frames', async () => {
    const client = await WsClient.open(server.url);
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    client.ws.send(bytes.subarray(0, 300), { binary: true });
    client.ws.send(bytes.subarray(300), { binary: true });
    const total = (): number => client.received.reduce((sum, m) => sum + m.data.length, 0);
    await client.until(() => total() >= bytes.length, `${bytes.length} bytes back`);
    expect(client.received.every((message) => message.binary)).toBe(true);
    expect(Buffer.concat(client.received.map((m) => m.data))).toEqual(bytes);
    client.terminate();
  });

  test('binary frames count in /metrics as frames sent and as a first push', async () => {
    const metric = async (name: string): Promise<number> => {
      const body = await (await fetch(`${server.httpUrl}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? 0);
    };
    const firstPushes = await metric('push_websocket_first_push_seconds_count');
    const client = await WsClient.open(server.url);
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await client.until(() => client.received.length > 0, 'the binary echo');
    const echoes = client.received.length;
    client.ws.close(1000);
    await client.closed();
    await waitFor(
      async () =>
        (await metric('push_websocket_first_push_seconds_count')) === firstPushes + 1 &&
        (await metric('push_websocket_frames_sent_total')) >= echoes,
      'the binary push to be counted',
    );
  });

  test('a text message reaches stdin as a line (as websocketd writes it)', async () => {
    const client = await WsClient.open(server.url);
    client.ws.send('héllo');
    await client.until(() => client.received.length > 0, 'the echo');
    expect(client.received[0]).toEqual({ data: Buffer.from('héllo\n'), binary: true });
    client.terminate();
  });

  test('without --binary, a binary message still goes to stdin as it is (no newline added)', async () => {
    const text = await startServer(['--exec', 'cat']);
    const client = await WsClient.open(text.url);
    client.ws.send(Buffer.from('raw:'), { binary: true });
    client.ws.send('after');
    await client.until((messages) => messages.length > 0, 'the echo');
    expect(client.received).toEqual([{ data: Buffer.from('raw:after'), binary: false }]);
    client.terminate();
  });

  test('without --binary, output that is not UTF-8 arrives as valid text (U+FFFD)', async () => {
    const text = await startServer(['--exec', `sh -c "printf 'a\\\\377b\\\\n'; cat"`]);
    const client = await WsClient.open(text.url);
    await client.waitForMessages(1);
    expect(client.messages[0]).toBe('a\ufffdb');
    client.terminate();
  });
});

describe('the graceful end of a command', () => {
  const CLOSE_MS = 300;
  /** Timers never fire early; two readings of the clock (date(1), ours) may differ by a tick. */
  const SLACK_MS = 5;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-end-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('client close: answered at once; then stdin EOF, SIGINT, SIGTERM, SIGKILL --close-ms apart', async () => {
    const record = path.join(dir, 'steps');
    const server = await startServer([
      '--exec',
      `sh ${RECORD_END} ${record}`,
      '--close-ms',
      String(CLOSE_MS),
    ]);
    const raw = await RawClient.open(server.port);
    const ready = (await raw.nextFrame()).payload.toString();
    const command = Number(/^ready (\d+)$/.exec(ready)?.[1]);
    expect(isAlive(command)).toBe(true);

    const sent = Date.now();
    raw.send(encodeFrame(Opcode.Close, Buffer.from([0x03, 0xe8]), { mask: Buffer.from('abcd') }));
    const echo = await raw.closeFrame();
    const answeredMs = Date.now() - sent;
    expect(echo.code).toBe(1000);
    // Answered before the first signal could even be sent: the command does not hold it up.
    expect(answeredMs).toBeLessThan(CLOSE_MS);
    const left = Date.now();
    raw.destroy();

    await waitFor(() => !isAlive(command), 'the command to be killed');
    const goneAt = Date.now();
    const steps = readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(steps.map(([step]) => step)).toEqual(['EOF', 'SIGINT', 'SIGTERM']);
    // Each step is recorded after it happened, and none can happen before its time:
    // lower bounds from the moment the client left, whatever the load on this machine.
    const [eof, int, term] = steps.map(([, ms]) => Number(ms) - left);
    expect(eof).toBeLessThan(int);
    expect(int).toBeGreaterThanOrEqual(CLOSE_MS - SLACK_MS);
    expect(term).toBeGreaterThanOrEqual(2 * CLOSE_MS - SLACK_MS);
    expect(goneAt - left).toBeGreaterThanOrEqual(3 * CLOSE_MS - SLACK_MS); // SIGKILL
    await server.waitForLog(/command sh exited \(code null, signal SIGKILL\)/);
  });

  test('a command that ends at stdin EOF gets no signal', async () => {
    const server = await startServer(['--exec', 'cat', '--close-ms', String(CLOSE_MS)]);
    const client = await WsClient.open(server.url);
    client.ws.close(1000);
    expect(await client.closed()).toBe(1000);
    await server.waitForLog(/command cat exited \(code 0, signal null\)/);
  });
});

describe('a command’s stderr', () => {
  test('is in the log at the default level, with the client id and worker pid', async () => {
    const server = await startServer(['--exec', "sh -c 'echo something broke >&2; cat'"]);
    const client = await WsClient.open(server.url);
    const [, id, pid] = await server.waitForLog(
      /sh stderr: something broke \(client #(\d+), pid (\d+)\)/,
    );
    const status = await statusOf<{
      clients: { id: number; pid: number }[];
    }>(server);
    expect(status.clients).toContainEqual(
      expect.objectContaining({ id: Number(id), pid: Number(pid) }),
    );
    client.terminate();
  });
});
