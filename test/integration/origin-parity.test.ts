import net from 'node:net';
import { checkOrigin } from '../../src/shared/protocol/origin';
import { HANG_BOUND_MS } from '../helpers/wait';
import {
  describeWithWebsocketd,
  startWebsocketd,
  stopAllWebsocketd,
  type WebsocketdProcess,
} from '../helpers/websocketd';

/**
 * checkOrigin against the real websocketd: each Origin/Host pair goes to websocketd,
 * and its 101 or 403 must be our verdict. The deliberate differences (host case,
 * "[::1]" without port) are in test/unit/origin.test.ts, not here.
 */
function status(port: number, host: string, origin: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no status line in ${HANG_BOUND_MS} ms`));
    }, HANG_BOUND_MS);
    socket.once('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
          `${origin === undefined ? '' : `Origin: ${origin}\r\n`}\r\n`,
      ),
    );
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (line === null) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(line[1]));
    });
    socket.on('error', reject);
  });
}

const ALLOWED = ['https://example.com', 'b.test:8080', 'c.test', 'd.test:80'];
const ORIGINS = [
  undefined,
  'null',
  'https://example.com',
  'https://example.com:9',
  'http://example.com',
  'http://b.test:8080',
  'https://b.test:8080',
  'http://b.test',
  'http://c.test:1234',
  'https://c.test',
  'http://d.test',
  'https://d.test:80',
  'https://d.test',
  'http://evil.test',
];
const SAME_ORIGIN: [string, string | undefined][] = [
  ['a.test', undefined],
  ['a.test', 'null'],
  ['a.test', 'http://a.test'],
  ['a.test', 'http://a.test:80'],
  ['a.test', 'https://a.test:80'],
  ['a.test', 'http://a.test:81'],
  ['a.test', 'https://a.test'],
  ['a.test:8080', 'http://a.test:8080'],
  ['a.test:8080', 'http://a.test'],
  ['a.test', 'http://b.test'],
];

describeWithWebsocketd('origin checks, ours against websocketd', () => {
  let listed: WebsocketdProcess;
  let same: WebsocketdProcess;

  beforeAll(async () => {
    listed = await startWebsocketd(['--origin', ALLOWED.join(','), 'cat']);
    same = await startWebsocketd(['--sameorigin', 'cat']);
  });
  afterAll(stopAllWebsocketd);

  test.each(ORIGINS.map((origin) => [String(origin)]))('--origin, Origin %s', async (origin) => {
    const sent = origin === 'undefined' ? undefined : origin;
    const theirs = await status(listed.port, 'x.test', sent);
    const ours = checkOrigin(sent, 'x.test', { allowed: ALLOWED }).ok ? 101 : 403;
    expect(ours).toBe(theirs);
  });

  test.each(SAME_ORIGIN)('--same-origin, Host %s, Origin %s', async (host, origin) => {
    const theirs = await status(same.port, host, origin);
    const ours = checkOrigin(origin, host, { sameOrigin: true }).ok ? 101 : 403;
    expect(ours).toBe(theirs);
  });
});
