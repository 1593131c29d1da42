import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { childrenOf } from '../helpers/proc';
import { upgradeOn as upgrade } from '../helpers/raw-http';
import {
  FAST,
  NODE_ARGS,
  ROOT,
  startServer,
  statusOf,
  stopAllServers,
  type ServerProcess,
} from '../helpers/server';
import { hs256Issuer, keyPairIssuer, type Issuer } from '../helpers/tokens';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * Authentication with real tokens made here with jose (HS256, ES256), against the real
 * server: who gets the 101, who gets 401/403 and why, the identity in /status and in a
 * command's environment, expiry (4001), and the token kept out of every log line,
 * /status, /metrics, argv and environment.
 */

const ECHO_AUTH = path.join(ROOT, 'test/fixtures/echo-auth.sh');
const ADMIN = 'admin-token-for-auth-tests';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-auth-'));
});
afterAll(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a client and records how it closes (code and reason). */
async function open(
  server: ServerProcess,
  target: string,
  options?: WebSocket.ClientOptions,
): Promise<{ client: WsClient; closed: Promise<{ code: number; reason: string }> }> {
  const client = await WsClient.open(
    `ws://${server.host}:${server.port}${target}`,
    undefined,
    options,
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return { client, closed };
}

interface StatusClient {
  id: number;
  pid: number;
  channel: string;
  user: string | null;
}

const now = (): number => Math.floor(Date.now() / 1000);

describe('HS256 tokens and private channels', () => {
  let issuer: Issuer;
  let server: ServerProcess;

  beforeAll(async () => {
    issuer = hs256Issuer(dir);
    server = await startServer([
      ...FAST,
      '--auth-secret-file',
      issuer.file,
      '--private-channels',
      '/user/*',
      '--auth-cookie',
      'pw_token',
      '--auth-leeway',
      '0',
    ]);
  });

  test('a token that allows /user/42 connects there, and /status shows its user', async () => {
    const token = await issuer.sign({ sub: '42', channels: ['/user/42'] });
    const { client } = await open(server, `/user/42?token=${token}`);
    await client.waitForMessages(1);
    const status = await statusOf<{ clients: StatusClient[] }>(server);
    expect(status.clients).toEqual([expect.objectContaining({ channel: '/user/42', user: '42' })]);
    client.terminate();
  });

  test('the token may come as Authorization: Bearer, or in the --auth-cookie cookie', async () => {
    const token = await issuer.sign({ sub: '7', channels: ['/user/*'] });
    const bearer = await open(server, '/user/7', { headers: { Authorization: `Bearer ${token}` } });
    await bearer.client.waitForMessages(1);
    const cookie = await open(server, '/user/8', { headers: { Cookie: `a=b; pw_token=${token}` } });
    await cookie.client.waitForMessages(1);
    bearer.client.terminate();
    cookie.client.terminate();
  });

  test('refusals before the handshake: 401 says no/bad/expired, 403 says not allowed', async () => {
    const other = await issuer.sign({ sub: '42', channels: ['/user/42'] });
    const expired = await issuer.sign({ sub: '42', exp: now() - 5 });
    const forged = await hs256Issuer(mkdtempSync(path.join(dir, 'other-'))).sign({ sub: '42' });
    const cases: [string, number, string][] = [
      ['/user/42', 401, 'no token'],
      ['/news', 401, 'no token'],
      [`/user/42?token=${expired}`, 401, 'token expired'],
      [`/user/42?token=${forged}`, 401, 'bad token (signature)'],
      ['/user/42?token=not-a-jwt', 401, 'bad token (malformed)'],
      [`/user/43?token=${other}`, 403, 'not allowed on this channel'],
    ];
    for (const [target, status, reason] of cases) {
      const answer = await upgrade(server, target);
      expect({ target, status: answer.status, body: answer.body.trim() }).toEqual({
        target,
        status,
        body: reason,
      });
    }
    // Every refusal got one log line, with the token redacted.
    await server.waitForLog(/403 for \S+ GET \/user\/43\?token=\[redacted\]: not allowed/);
    expect(server.output).toContain('(user "42" may not subscribe to /user/43)');
  });

  test('the token\'s exp ends the connection: close 4001 "token expired"', async () => {
    const token = await issuer.sign({ sub: '42', channels: ['/user/42'] }, { expiresInS: 2 });
    const started = Date.now();
    const { client, closed } = await open(server, `/user/42?token=${token}`);
    await client.waitForMessages(1);
    expect(await closed).toEqual({ code: 4001, reason: 'token expired' });
    expect(Date.now() - started).toBeGreaterThan(900);
    await server.waitForLog(/token expired, closing with 4001 \(client #\d+, pid \d+, user "42"\)/);
  });
});

describe('ES256 tokens with --allow-anonymous', () => {
  let issuer: Issuer;
  let server: ServerProcess;

  beforeAll(async () => {
    issuer = await keyPairIssuer(dir, 'ES256');
    server = await startServer([
      ...FAST,
      '--auth-public-key',
      issuer.file,
      '--private-channels',
      '/user/*,/team/**',
      '--allow-anonymous',
    ]);
  });

  test('anonymous clients reach the channels that are not private, not the others', async () => {
    const { client } = await open(server, '/news');
    await client.waitForMessages(1);
    client.terminate();
    expect((await upgrade(server, '/user/42')).status).toBe(401);
    expect((await upgrade(server, '/team/7/chat')).body.trim()).toBe(
      'no token (the channel is private)',
    );
  });

  test('an ES256 token opens its private channels (** for the rest of the path)', async () => {
    const token = await issuer.sign({ sub: 'alice', channels: ['/team/7/**'] });
    const { client } = await open(server, `/team/7/chat/room?token=${token}`);
    await client.waitForMessages(1);
    client.terminate();
    expect((await upgrade(server, `/team/8/chat?token=${token}`)).status).toBe(403);
  });

  test('a token that is bad is refused, never taken for anonymous', async () => {
    const hs = hs256Issuer(mkdtempSync(path.join(dir, 'hs-')));
    const answer = await upgrade(server, `/news?token=${await hs.sign({ sub: 'x' })}`);
    expect([answer.status, answer.body.trim()]).toEqual([
      401,
      'bad token (algorithm not accepted)',
    ]);
  });
});

/** A process's environment and command line from /proc, as text. */
function procText(pid: number): string {
  const read = (file: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  return `${read('cmdline')}\n${read('environ')}`;
}

describe('identity in a command, and secrets kept', () => {
  let issuer: Issuer;
  let server: ServerProcess;

  beforeAll(async () => {
    issuer = hs256Issuer(mkdtempSync(path.join(dir, 'exec-')));
    server = await startServer(
      [
        '--exec',
        ECHO_AUTH,
        '--auth-secret-file',
        issuer.file,
        '--auth-cookie',
        'pw_token',
        '--private-channels',
        '/user/*',
        '--admin-token',
        ADMIN,
        '--verbose',
      ],
      { env: { PUSH_WS_AUTH_LEEWAY: '1' } },
    );
  });

  test('REMOTE_USER and PUSH_WS_CLAIMS; the token is nowhere: logs, /status, /metrics, argv, environ', async () => {
    const claims = { sub: '42', channels: ['/user/42'], name: 'Ada' };
    const token = await issuer.sign(claims, { expiresInS: 600 });
    const cookieToken = await issuer.sign({ sub: '42', channels: ['/user/*'] });
    const { client } = await open(server, `/user/42?token=${token}&x=1`, {
      headers: { Authorization: `Bearer ${token}`, Cookie: `theme=dark; pw_token=${cookieToken}` },
    });
    await client.until((messages) => messages.includes('ready'), 'the command is ready');
    const lines = Object.fromEntries(
      client.messages.filter((m) => m.includes('=')).map((m) => m.split(/=(.*)/s).slice(0, 2)),
    );
    expect(lines.REMOTE_USER).toBe('42');
    expect(JSON.parse(lines.PUSH_WS_CLAIMS)).toEqual({
      ...claims,
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(lines.REQUEST_URI).toBe('/user/42?x=1');
    expect(lines.QUERY_STRING).toBe('x=1');
    expect(lines.HTTP_AUTHORIZATION).toBe('unset');
    expect(lines.HTTP_COOKIE).toBe('theme=dark');

    const auth = { headers: { Authorization: `Bearer ${ADMIN}` } };
    const status = await (await fetch(`${server.httpUrl}/status`, auth)).text();
    const metrics = await (await fetch(`${server.httpUrl}/metrics`, auth)).text();
    const { clients } = JSON.parse(status) as { clients: StatusClient[] };
    expect(clients.map((c) => c.user)).toEqual(['42']);
    const worker = clients[0].pid;
    const command = await waitFor(
      () => childrenOf(worker).find((child) => child.state !== 'Z')?.pid,
      'the command',
    );
    await server.waitForLog(/Client #\d+ is successfully created! \(pid \d+, user "42"\)/);
    const places: Record<string, string> = {
      log: server.output,
      status,
      metrics,
      master: procText(server.pid),
      worker: procText(worker),
      command: procText(command),
    };
    const secrets = { token, cookieToken, key: issuer.secretText };
    for (const [place, text] of Object.entries(places)) {
      expect(text.length).toBeGreaterThan(0);
      for (const [name, secret] of Object.entries(secrets)) {
        expect({ place, name, found: text.includes(secret) }).toEqual({
          place,
          name,
          found: false,
        });
      }
    }
    // The handshake lines are there, redacted.
    expect(server.output).toContain('GET /user/42?token=[redacted]&x=1 HTTP/1.1');
    expect(server.output).toMatch(/"authorization":"\[redacted\]"/);
    client.terminate();
  });
});

/** Runs the server expecting it to refuse to start: exit code and output. */
function refusedStart(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, '--port', '0', ...args], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after 10 s: ${output}`));
    }, 10000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('key files at start', () => {
  test('unreadable, too short, or not a key: exit 2 with one line naming the file, not its content', async () => {
    const short = path.join(dir, 'short-secret');
    writeFileSync(short, 'a-secret-too-short\n');
    const junk = path.join(dir, 'junk.pem');
    writeFileSync(junk, 'ceci-n-est-pas-une-cle');
    const cases: [string[], RegExp][] = [
      [
        ['--auth-secret-file', path.join(dir, 'nope')],
        /--auth-secret-file: cannot read .*nope": ENOENT/,
      ],
      [['--auth-secret-file', short], /is 18 bytes; HS256 needs 32 at least/],
      [['--auth-public-key', junk], /holds no PEM public key or certificate/],
    ];
    for (const [args, pattern] of cases) {
      const { code, output } = await refusedStart(args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(output.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
      expect(output).not.toMatch(/a-secret-too-short|ceci-n-est-pas/);
    }
  });
});
