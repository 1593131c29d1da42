import { unwrap } from '../../src/shared/result';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScriptDirectory } from '../../src/master/http/script-dir';
import { passEnvironment } from '../../src/shared/pass-environment';
import { cgiEnvironment } from '../../workers/cgi-environment';
import { parseServerFrame } from '../helpers/raw-client';
import { writeScript } from '../helpers/script';
import { HANG_BOUND_MS } from '../helpers/wait';
import {
  describeWithWebsocketd,
  startWebsocketd,
  stopAllWebsocketd,
  type WebsocketdProcess,
} from '../helpers/websocketd';

/**
 * cgiEnvironment against the real websocketd: the same upgrade request goes to
 * websocketd running an env dump, and its command's environment is compared with ours,
 * name by name. The differences are the documented, deliberate ones only.
 */

/** Ours differ here on purpose (see workers/cgi-environment.ts). */
const OURS_DIFFER = new Set(['SERVER_SOFTWARE', 'GATEWAY_INTERFACE', 'UNIQUE_ID', 'HTTP_PROXY']);
/** Set by the dump's shell, not by websocketd. */
const SHELL_SETS = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);
/** Only ours have them. */
const OURS_ONLY = new Set(['HTTP_HOST', 'PUSH_WS_CLIENT_ID']);

/** Text frames a server sends (unmasked), from the bytes after the 101's headers. */
function textFrames(bytes: Buffer): string[] {
  const texts: string[] = [];
  let rest = bytes;
  for (let parsed = parseServerFrame(rest); parsed; parsed = parseServerFrame(rest)) {
    if (parsed.frame.opcode === 1) texts.push(parsed.frame.payload.toString());
    rest = rest.subarray(parsed.size);
  }
  return texts;
}

/** Sends a raw upgrade request; resolves with the client port and the frames until close. */
function exchange(port: number, request: string): Promise<{ localPort: number; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let localPort = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from websocketd in ${HANG_BOUND_MS} ms`));
    }, HANG_BOUND_MS);
    socket.once('connect', () => {
      localPort = socket.localPort as number;
      socket.write(request);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
      resolve({ localPort, lines: textFrames(body) });
    });
  });
}

describeWithWebsocketd('the CGI environment, ours against websocketd', () => {
  let dir: string;
  let server: WebsocketdProcess;
  const serverEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', SECRET: 'x' };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'push-ws-parity-'));
    const dump = writeScript(path.join(dir, 'dump-env.sh'), 'env');
    server = await startWebsocketd(['--passenv', 'PATH,LANG', dump], { env: serverEnv });
  });

  afterAll(async () => {
    await stopAllWebsocketd();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every variable websocketd sets, ours sets the same, but for the documented few', async () => {
    const headers: [string, string][] = [
      ['Host', `127.0.0.1:${server.port}`],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
      ['Origin', 'http://example.com'],
      ['User-Agent', 'parity-test/1.0'],
      ['X-Rep', 'one'],
      ['x-rep', 'two'],
      ['Cookie', 'a=1'],
      ['Cookie', 'b=2'],
      ['X-Padded', '   padded   '],
      ['Proxy', 'http://evil.example:3128'],
    ];
    const url = '/a%20b/c%2fd?x=1&y=%20';
    const request = `GET ${url} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
    const { localPort, lines } = await exchange(server.port, request);

    const theirs = new Map(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const ours = cgiEnvironment(
      {
        remoteAddress: '127.0.0.1',
        remotePort: localPort,
        serverPort: server.port,
        url,
        method: 'GET',
        httpVersion: '1.1',
        headers,
        serverName: '127.0.0.1',
      },
      passEnvironment(serverEnv, ['PATH', 'LANG']),
      { clientId: 1, serverSoftware: 'push-websocket/test' },
    );

    expect(theirs.get('HTTP_PROXY')).toBe('http://evil.example:3128'); // websocketd's httpoxy
    expect(ours.HTTP_PROXY).toBeUndefined();
    const compared = [...theirs.keys()].filter((n) => !OURS_DIFFER.has(n) && !SHELL_SETS.has(n));
    expect(compared.length).toBeGreaterThan(20);
    for (const name of compared) expect([name, ours[name]]).toEqual([name, theirs.get(name)]);
    const extra = Object.keys(ours).filter((name) => !theirs.has(name));
    expect(extra.sort()).toEqual([...OURS_ONLY].sort());
  });

  test('--dir: SCRIPT_NAME, PATH_INFO and PATH_TRANSLATED as websocketd splits them', async () => {
    const byDir = await startWebsocketd(['--passenv', 'PATH', '--dir', dir], { env: serverEnv });
    const url = '/dump-env.sh/room/a%20b?x=1';
    const request =
      `GET ${url} HTTP/1.1\r\nHost: 127.0.0.1:${byDir.port}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n';
    const { lines } = await exchange(byDir.port, request);
    const theirs = new Map(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const resolved = await (await ScriptDirectory.open(dir)).resolve('/dump-env.sh/room/a%20b');
    const route = unwrap(resolved, 'the script');
    const ours = cgiEnvironment(
      {
        remoteAddress: '127.0.0.1',
        remotePort: 1,
        serverPort: byDir.port,
        url,
        method: 'GET',
        httpVersion: '1.1',
        headers: [],
        serverName: '127.0.0.1',
        scriptName: route.scriptName,
        pathInfo: route.pathInfo,
      },
      {},
      { clientId: 1, serverSoftware: 'push-websocket/test' },
    );
    for (const name of ['SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED', 'QUERY_STRING']) {
      expect([name, ours[name]]).toEqual([name, theirs.get(name)]);
    }
    expect(theirs.get('SCRIPT_NAME')).toBe('/dump-env.sh');
    await byDir.stop();
  });
});
