import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Opcode } from '../../src/shared/protocol/constants';
import { encodeFrame } from '../../src/shared/protocol/frame';
import { RawClient, type ServerFrame } from '../helpers/raw-client';
import { writeScript } from '../helpers/script';
import { ROOT, startServer, stopAllServers } from '../helpers/server';
import { isAlive } from '../helpers/proc';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';
import { describeWithWebsocketd, startWebsocketd, stopAllWebsocketd } from '../helpers/websocketd';

/**
 * push-websocket against the real websocketd, both running the same commands (an env
 * dump, a line echo, a binary echo, a --dir tree) and asked the same raw requests: what
 * a client sees must be the same, but for the differences docs/websocketd.md
 * documents, each asserted here as it is.
 */

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const MASK = Buffer.from([1, 2, 3, 4]);
/** The servers' own environment (the same for both). */
const SERVER_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  LANG: 'C.UTF-8',
  NOT_PASSED: 'server-only',
};

/** A port, and whether it is ours (for the documented differences). */
interface Side {
  name: 'ours' | 'websocketd';
  port: number;
}

/** Both servers, started with the same command (`args` end with it for websocketd). */
async function both(ours: string[], theirs: string[]): Promise<[Side, Side]> {
  const [mine, other] = await Promise.all([
    startServer(['--spare-workers', '1', ...ours], { env: SERVER_ENV }),
    startWebsocketd(theirs, { env: SERVER_ENV, cwd: ROOT }),
  ]);
  return [
    { name: 'ours', port: mine.port },
    { name: 'websocketd', port: other.port },
  ];
}

/** An upgrade with a fixed key; the HTTP status and, for a 101, the open client. */
function upgrade(
  side: Side,
  target = '/',
  headers: Record<string, string> = {},
): Promise<{ status: number; client: RawClient }> {
  return RawClient.upgrade(side.port, { 'Sec-WebSocket-Key': KEY, ...headers }, target);
}

/** Frames until `done` says so (the close frame included, if one comes), bounded. */
async function framesUntil(
  client: RawClient,
  done: (frames: ServerFrame[]) => boolean,
): Promise<ServerFrame[]> {
  const frames: ServerFrame[] = [];
  const deadline = Date.now() + HANG_BOUND_MS;
  while (!done(frames)) {
    const frame = await client.frameOrEnd(Math.max(1, deadline - Date.now()));
    if (frame === undefined) break;
    frames.push(frame);
  }
  return frames;
}

const texts = (frames: ServerFrame[]): string[] =>
  frames.filter((f) => f.opcode === Opcode.Text).map((f) => f.payload.toString());

function sendText(client: RawClient, text: string): void {
  client.send(encodeFrame(Opcode.Text, Buffer.from(text), { mask: MASK }));
}

describeWithWebsocketd('push-websocket against websocketd, through both real servers', () => {
  let dir: string;
  let envScript: string;
  let linesScript: string;
  let exitScript: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-parity-'));
    envScript = writeScript(path.join(dir, 'env.sh'), 'env\necho --end--\nexec cat > /dev/null');
    linesScript = writeScript(
      path.join(dir, 'lines.sh'),
      "printf 'one\\r\\ntwo\\n\\nthree\\n'\nexec cat",
    );
    exitScript = writeScript(path.join(dir, 'bye.sh'), 'echo bye');
  });

  /** Background children a test's commands started (websocketd leaves them behind). */
  const strays: number[] = [];

  afterEach(async () => {
    await Promise.all([stopAllServers(), stopAllWebsocketd()]);
    for (const pid of strays.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the environment: the same variables and values, but for the documented few', async () => {
    const sides = await both(
      ['--exec', envScript, '--passenv', 'PATH,LANG'],
      ['--passenv', 'PATH,LANG', envScript],
    );
    const headers = {
      Origin: 'http://app.example',
      'User-Agent': 'parity/1.0',
      Cookie: 'a=1; b=2',
      Authorization: 'Basic dXNlcjpwYXNz',
      'X-Custom': 'custom',
      'X-Rep': 'one',
      'x-rep': 'two',
      Proxy: 'http://evil.example:3128',
      X_Under: 'underscored',
    };
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side, '/room/a%20b?x=1&y=%20', headers);
        const frames = await framesUntil(client, (got) => texts(got).includes('--end--'));
        client.destroy();
        const lines = texts(frames).filter((line) => line.includes('='));
        return new Map(lines.map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
      }),
    );

    // The documented differences, as they are.
    expect(theirs.get('GATEWAY_INTERFACE')).toMatch(/CGI/);
    expect(ours.get('GATEWAY_INTERFACE')).toBe('CGI/1.1');
    expect(theirs.get('SERVER_SOFTWARE')).toMatch(/^websocketd/);
    expect(ours.get('SERVER_SOFTWARE')).toMatch(/^push-websocket\//);
    expect(theirs.has('UNIQUE_ID')).toBe(true);
    expect(ours.has('PUSH_WS_CLIENT_ID')).toBe(true);
    expect(theirs.get('HTTP_PROXY')).toBe('http://evil.example:3128'); // httpoxy
    expect(ours.has('HTTP_PROXY')).toBe(false);
    expect(theirs.get('HTTP_X_UNDER')).toBe('underscored');
    expect(ours.has('HTTP_X_UNDER')).toBe(false);
    expect(theirs.has('HTTP_HOST')).toBe(false);
    expect(ours.get('HTTP_HOST')).toBe(`127.0.0.1:${sides[0].port}`);
    // Per connection: each server's own port, each client's own port.
    expect(ours.get('SERVER_PORT')).toBe(String(sides[0].port));
    expect(theirs.get('SERVER_PORT')).toBe(String(sides[1].port));
    expect(Number(ours.get('REMOTE_PORT'))).toBeGreaterThan(0);
    expect(Number(theirs.get('REMOTE_PORT'))).toBeGreaterThan(0);

    const differ = new Set([
      'GATEWAY_INTERFACE',
      'SERVER_SOFTWARE',
      'UNIQUE_ID',
      'PUSH_WS_CLIENT_ID',
      'HTTP_PROXY',
      'HTTP_X_UNDER',
      'HTTP_HOST',
      'SERVER_PORT',
      'REMOTE_PORT',
    ]);
    const names = [...new Set([...ours.keys(), ...theirs.keys()])].filter((n) => !differ.has(n));
    expect(names.length).toBeGreaterThan(25);
    for (const name of names.sort()) {
      expect([name, ours.get(name)]).toEqual([name, theirs.get(name)]);
    }
    expect(ours.get('HTTP_COOKIE')).toBe('a=1; b=2');
    expect(ours.get('HTTP_X_REP')).toBe('one, two');
    expect(ours.has('NOT_PASSED')).toBe(false);
  });

  test('lines: the same messages out (CR stripped, empty lines kept) and in (one line each)', async () => {
    const sides = await both(['--exec', linesScript], [linesScript]);
    const sent = ['a', 'b c', '', 'multi\nline', 'ünï', 'tab\there', 'done'];
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side);
        const first = await framesUntil(client, (got) => texts(got).includes('three'));
        for (const text of sent) sendText(client, text);
        const frames = [
          ...first,
          ...(await framesUntil(client, (got) => texts(got).includes('done'))),
        ];
        client.destroy();
        return frames.map((frame) => [frame.opcode, frame.payload.toString()]);
      }),
    );
    expect(ours).toEqual(theirs);
    const lines = ['one', 'two', '', 'three', 'a', 'b c', '', 'multi', 'line', 'ünï', 'tab\there'];
    expect(ours).toEqual([...lines, 'done'].map((line) => [Opcode.Text, line]));
  });

  test('text mode: a binary message goes to stdin as it is (no newline), on both', async () => {
    const sides = await both(['--exec', 'cat'], ['cat']);
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side);
        client.send(encodeFrame(Opcode.Binary, Buffer.from('raw:'), { mask: MASK }));
        sendText(client, 'after');
        const frames = await framesUntil(client, (got) => got.length > 0);
        client.destroy();
        return frames.map((frame) => [frame.opcode, frame.payload.toString()]);
      }),
    );
    expect(ours).toEqual(theirs);
    expect(ours).toEqual([[Opcode.Text, 'raw:after']]);
  });

  test('text mode, output that is not UTF-8: ours U+FFFD, websocketd an invalid text frame (documented)', async () => {
    const bad = writeScript(
      path.join(dir, 'bad-utf8.sh'),
      "printf 'a\\377b\\n'\nexec cat > /dev/null",
    );
    const sides = await both(['--exec', bad], [bad]);
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side);
        const [frame] = await framesUntil(client, (got) => got.length > 0);
        client.destroy();
        return frame;
      }),
    );
    expect([ours.opcode, theirs.opcode]).toEqual([Opcode.Text, Opcode.Text]);
    expect(ours.payload).toEqual(Buffer.from('a\ufffdb'));
    expect(theirs.payload).toEqual(Buffer.from([0x61, 0xff, 0x62]));
  });

  test('--binary: the same bytes back, as binary messages, on both', async () => {
    const sides = await both(['--exec', 'cat', '--binary'], ['--binary', 'cat']);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const expected = Buffer.concat([bytes, Buffer.from('text\n')]);
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side);
        client.send(encodeFrame(Opcode.Binary, bytes, { mask: MASK }));
        sendText(client, 'text'); // a text message goes in as a line, on both
        const frames = await framesUntil(
          client,
          (got) => got.reduce((sum, f) => sum + f.payload.length, 0) >= expected.length,
        );
        client.destroy();
        return frames;
      }),
    );
    for (const frames of [ours, theirs]) {
      expect(frames.every((frame) => frame.opcode === Opcode.Binary)).toBe(true);
      expect(Buffer.concat(frames.map((frame) => frame.payload))).toEqual(expected);
    }
  });

  test('the command exits: ours sends close 1000, websocketd drops the connection (documented)', async () => {
    const sides = await both(['--exec', exitScript], [exitScript]);
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side);
        const frames = await framesUntil(client, (got) => got.some((f) => f.opcode === 8));
        await client.tcpClosed();
        return frames;
      }),
    );
    expect(texts(ours)).toEqual(['bye']);
    expect(texts(theirs)).toEqual(['bye']);
    expect(ours.at(-1)?.opcode).toBe(Opcode.Close);
    expect(ours.at(-1)?.payload.readUInt16BE(0)).toBe(1000);
    expect(theirs.some((frame) => frame.opcode === Opcode.Close)).toBe(false);
  });

  test('a client leaves: ours ends the command’s whole group, websocketd leaves its children (documented)', async () => {
    // Starts a child in the background, then ignores SIGINT and SIGTERM: only SIGKILL ends it.
    const stubborn = writeScript(
      path.join(dir, 'stubborn.sh'),
      'sleep 600 &\necho "$$ $!"\ntrap \'\' INT TERM\nwhile :; do sleep 0.05; done',
    );
    const sides = await both(['--exec', stubborn], [stubborn]);
    const [ours, theirs] = await Promise.all(
      sides.map(async (side) => {
        const { client } = await upgrade(side);
        const [frame] = await framesUntil(client, (got) => got.length > 0);
        client.destroy();
        const [command, child] = frame.payload.toString().split(' ').map(Number);
        strays.push(child);
        await waitFor(() => !isAlive(command), `the ${side.name} command to be killed`);
        return child;
      }),
    );
    expect(isAlive(ours)).toBe(false);
    expect(isAlive(theirs)).toBe(true); // an orphan now (afterEach ends it)
  });

  describe('--dir', () => {
    let tree: string;

    beforeAll(() => {
      tree = path.join(dir, 'tree');
      const outside = path.join(dir, 'outside');
      mkdirSync(path.join(tree, 'sub'), { recursive: true });
      mkdirSync(path.join(tree, 'empty'));
      mkdirSync(outside);
      const where = 'echo "$SCRIPT_NAME|$PATH_INFO|$QUERY_STRING"';
      writeScript(path.join(tree, 'where.sh'), where);
      writeScript(path.join(tree, 'sub', 'deep.sh'), where);
      writeScript(path.join(tree, '.hidden.sh'), where);
      writeFileSync(path.join(tree, 'plain.txt'), 'not a script\n');
      symlinkSync(
        writeScript(path.join(outside, 'evil.sh'), where),
        path.join(tree, 'link-out.sh'),
      );
    });

    /** What a client sees for `target`: the status, and the script's line for a 101. */
    async function visit(side: Side, target: string): Promise<string> {
      const { status, client } = await upgrade(side, target);
      if (status !== 101) return String(status);
      const frames = await framesUntil(client, (got) => got.length > 0 || client.closed);
      client.destroy();
      return `101 ${texts(frames).join(' ')}`.trim();
    }

    test('routes and 404s: the same, but where ours is stricter (documented)', async () => {
      const sides = await both(['--dir', tree], ['--dir', tree]);
      const same = [
        '/where.sh',
        '/where.sh/room/a%20b?x=1',
        '/sub/deep.sh/x/y',
        '/missing.sh',
        '/',
        '/empty',
        '/sub',
        '/where.sh%00',
      ];
      for (const target of same) {
        const [ours, theirs] = await Promise.all(sides.map((side) => visit(side, target)));
        expect([target, ours]).toEqual([target, theirs]);
      }
      expect(await visit(sides[0], '/where.sh/room/a%20b?x=1')).toBe('101 /where.sh|/room/a b|x=1');

      // Ours: 404. websocketd: runs a hidden script, a script outside the directory
      // through a link, reads %2f as "/", redirects ".." to the cleaned path, and
      // upgrades for a file it cannot run (then drops the connection).
      const stricter: [string, RegExp][] = [
        ['/.hidden.sh', /^101 /],
        ['/link-out.sh', /^101 /],
        ['/sub%2fdeep.sh', /^101 \/sub\/deep\.sh/],
        ['/sub/../where.sh', /^301$/],
        ['/plain.txt', /^101$/],
      ];
      for (const [target, theirs] of stricter) {
        expect([target, await visit(sides[0], target)]).toEqual([target, '404']);
        expect([target, await visit(sides[1], target)]).toEqual([
          target,
          expect.stringMatching(theirs),
        ]);
      }
    });
  });

  describe('origins', () => {
    const ORIGINS = [
      undefined,
      'null',
      'http://a.test',
      'https://a.test:8443',
      'http://b.test:8080',
      'http://b.test',
      'https://c.test',
      'http://c.test',
      'https://c.test:444',
      'http://evil.test',
    ];

    test('--origin host, host:port and full origins: the same 101s and 403s', async () => {
      const list = 'a.test,b.test:8080,https://c.test';
      const sides = await both(['--exec', 'cat', '--origin', list], ['--origin', list, 'cat']);
      for (const origin of ORIGINS) {
        const headers: Record<string, string> = origin === undefined ? {} : { Origin: origin };
        const [ours, theirs] = await Promise.all(
          sides.map(async (side) => {
            const { status, client } = await upgrade(side, '/', headers);
            client.destroy();
            return status;
          }),
        );
        expect([origin, ours]).toEqual([origin, theirs]);
      }
    });

    test('--same-origin: the same 101s and 403s', async () => {
      const sides = await both(['--exec', 'cat', '--same-origin'], ['--sameorigin', 'cat']);
      const cases: Record<string, string>[] = [
        {},
        { Host: 'a.test', Origin: 'http://a.test' },
        { Host: 'a.test', Origin: 'https://a.test' },
        { Host: 'a.test', Origin: 'http://a.test:81' },
        { Host: 'a.test:8080', Origin: 'http://a.test:8080' },
        { Host: 'a.test', Origin: 'http://b.test' },
        { Host: 'a.test', Origin: 'null' },
      ];
      for (const headers of cases) {
        const [ours, theirs] = await Promise.all(
          sides.map(async (side) => {
            const { status, client } = await upgrade(side, '/', headers);
            client.destroy();
            return status;
          }),
        );
        expect([headers, ours]).toEqual([headers, theirs]);
      }
    });
  });
});
