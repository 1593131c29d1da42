import { checkOrigin } from '../../src/shared/protocol/origin';
import { RawClient } from '../helpers/raw-client';
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
async function status(port: number, host: string, origin: string | undefined): Promise<number> {
  const answer = await RawClient.upgrade(port, {
    Host: host,
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...(origin === undefined ? {} : { Origin: origin }),
  });
  answer.client.destroy();
  return answer.status;
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
