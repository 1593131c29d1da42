import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { normaliseChannel } from '../../src/master/channels/channel-name';
import { ROOT } from '../helpers/server';

/**
 * The page's pure script (`<script id="page-logic">` in src/client/index.html), run as
 * it is in a fresh Node context: the channel rule it shares with the server, the
 * reconnect back-off, Retry-After, and how frames move the page's position.
 */
interface Position {
  epoch: string;
  offset: number;
}

interface Read {
  kind: string;
  data?: string;
  offset?: number;
  count?: number;
  reason?: string;
  notice?: string;
  pid?: string;
  id?: string;
  to?: string;
  restarted?: boolean;
  position: Position | null;
}

interface PageLogic {
  channelOfPath(path: string): { channel?: string; error?: string };
  parseChannel(text: string): { channel?: string; error?: string };
  socketUrl(origin: string, channel: string, position: Position | null): string;
  reconnectDelay(attempt: number, random: () => number): number;
  retryAfterMs(value: string | null, now: number): number | undefined;
  readFrame(text: string, channel: string, position: Position | null): Read;
  RETRY_BASE_MS: number;
  RETRY_MAX_MS: number;
}

function loadLogic(): PageLogic {
  const html = readFileSync(path.join(ROOT, 'src/client/index.html'), 'utf8');
  const script = /<script id="page-logic">([\s\S]*?)<\/script>/.exec(html);
  if (script === null) throw new Error('index.html has no <script id="page-logic">');
  const context: { PushPageLogic?: PageLogic } = {};
  vm.runInNewContext(script[1], context, { filename: 'index.html#page-logic' });
  if (context.PushPageLogic === undefined) throw new Error('the script set no PushPageLogic');
  return context.PushPageLogic;
}

const logic = loadLogic();
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`page-logic property seed: ${seed} (FC_SEED=${seed} to replay)`);

const frame = (value: object): string => JSON.stringify(value);
const pub = (offset: number, data = `m${offset}`, epoch = 'e1', channel = '/news'): string =>
  frame({ type: 'pub', channel, offset, epoch, data });

describe('the page names channels as the server does', () => {
  test('a page URL fragment or a typed name gives the channel', () => {
    expect(logic.parseChannel('')).toEqual({ channel: '/' });
    expect(logic.parseChannel('#')).toEqual({ channel: '/' });
    expect(logic.parseChannel('#/news')).toEqual({ channel: '/news' });
    expect(logic.parseChannel('#news/')).toEqual({ channel: '/news' });
    expect(logic.parseChannel('  /news/sport ')).toEqual({ channel: '/news/sport' });
    expect(logic.parseChannel('#/%7Enews')).toEqual({ channel: '/~news' });
    expect(logic.parseChannel('/a b').error).toMatch(/character " " is not allowed/);
    expect(logic.parseChannel('#/a%2Fb').error).toMatch(/"%2F" is not allowed/);
    expect(logic.parseChannel('/a/../b').error).toMatch(/"\." and "\.\."/);
    expect(logic.parseChannel('//').error).toMatch(/empty segment/);
  });

  test('for any path, the page accepts exactly what the server accepts, with the same name', () => {
    const chars = fc.constantFrom(...'/%.~-_aZ09Ff2E7 é?#'.split(''));
    const raw = fc.array(chars, { maxLength: 24 }).map((list) => list.join(''));
    const paths = fc.oneof(
      raw,
      raw.map((rest) => '/' + rest),
      fc.integer({ min: 120, max: 135 }).map((length) => '/' + 'a'.repeat(length - 1)),
    );
    fc.assert(
      fc.property(paths, (candidate) => {
        const server = normaliseChannel(candidate);
        const page = logic.channelOfPath(candidate);
        if (typeof server === 'string') expect(page).toEqual({ channel: server });
        else expect(page.error).toEqual(expect.any(String));
      }),
      { seed, numRuns: 2000 },
    );
  });
});

describe('where the page connects', () => {
  test('its channel as path, JSON frames, and the last position when it has one', () => {
    expect(logic.socketUrl('ws://h:1', '/', null)).toBe('ws://h:1/?format=json');
    expect(logic.socketUrl('wss://h', '/news', { epoch: 'ab12', offset: 42 })).toBe(
      'wss://h/news?format=json&since=42&epoch=ab12',
    );
  });
});

describe('reconnect back-off', () => {
  test('0.25-0.5 s first, doubling, never past 30 s; half fixed, half drawn', () => {
    expect(logic.reconnectDelay(0, () => 0)).toBe(250);
    expect(logic.reconnectDelay(0, () => 0.999999)).toBe(500);
    expect(logic.reconnectDelay(1, () => 0)).toBe(500);
    expect(logic.reconnectDelay(3, () => 0)).toBe(2000);
    expect(logic.reconnectDelay(6, () => 0)).toBe(15000);
    expect(logic.reconnectDelay(1000, () => 0.999999)).toBe(30000);
  });

  test('every delay lies within [ceiling / 2, ceiling] of its attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, draw) => {
          const ceiling = Math.min(
            logic.RETRY_MAX_MS,
            logic.RETRY_BASE_MS * 2 ** Math.min(attempt, 20),
          );
          const delay = logic.reconnectDelay(attempt, () => draw);
          expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
      { seed },
    );
  });

  test('Retry-After in seconds or as a date; nonsense ignored; at most 5 minutes', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(logic.retryAfterMs('5', now)).toBe(5000);
    expect(logic.retryAfterMs(' 0 ', now)).toBe(0);
    expect(logic.retryAfterMs('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(logic.retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(logic.retryAfterMs('86400', now)).toBe(300000);
    expect(logic.retryAfterMs('-3', now)).toBeUndefined();
    expect(logic.retryAfterMs('soon', now)).toBeUndefined();
    expect(logic.retryAfterMs(null, now)).toBeUndefined();
  });
});

describe('frames and the page position', () => {
  const at = (offset: number, epoch = 'e1'): Position => ({ epoch, offset });

  test('pushes, the hello, direct messages, plain text', () => {
    const hello = logic.readFrame(
      frame({ type: 'push', data: 'Connected to worker PID 77 as client #3' }),
      '/news',
      null,
    );
    expect(hello).toMatchObject({ kind: 'hello', pid: '77', id: '3', position: null });
    expect(logic.readFrame(frame({ type: 'push', data: 'tick' }), '/', at(1))).toEqual({
      kind: 'push',
      data: 'tick',
      position: at(1),
    });
    expect(logic.readFrame(frame({ type: 'direct', data: 'hi' }), '/', null)).toMatchObject({
      kind: 'direct',
      data: 'hi',
    });
    expect(logic.readFrame('not json {', '/', at(2))).toEqual({
      kind: 'push',
      data: 'not json {',
      position: at(2),
    });
  });

  test('a position frame, then publications move the position; repeats are dropped', () => {
    let position = logic.readFrame(
      frame({ type: 'position', channel: '/news', epoch: 'e1', offset: 4 }),
      '/news',
      null,
    ).position;
    expect(position).toEqual(at(4));
    expect(logic.readFrame(pub(4), '/news', position)).toMatchObject({
      kind: 'duplicate',
      offset: 4,
    });
    const fifth = logic.readFrame(pub(5), '/news', position);
    expect(fifth).toMatchObject({ kind: 'pub', data: 'm5', offset: 5, restarted: false });
    position = fifth.position;
    expect(position).toEqual(at(5));
    // A broadcast has offsets of another stream: shown, the position kept.
    const broadcast = logic.readFrame(pub(90, 'all', 'e9', '*'), '/news', position);
    expect(broadcast).toMatchObject({ kind: 'broadcast', to: '*', position: at(5) });
    // A new epoch on this channel: the stream began again.
    expect(logic.readFrame(pub(1, 'x', 'e2'), '/news', position)).toMatchObject({
      kind: 'pub',
      restarted: true,
      position: at(1, 'e2'),
    });
  });

  test('recovered: the notice, and the position kept for the publications that follow', () => {
    const recovery = logic.readFrame(
      frame({
        type: 'recovery',
        recovered: true,
        count: 3,
        channel: '/news',
        epoch: 'e1',
        offset: 8,
      }),
      '/news',
      at(5),
    );
    expect(recovery).toMatchObject({ kind: 'recovered', count: 3, notice: 'recovered 3 messages' });
    expect(recovery.position).toEqual(at(5));
    expect(logic.readFrame(pub(6), '/news', recovery.position).kind).toBe('pub');
    const one = logic.readFrame(
      frame({ type: 'recovery', recovered: true, count: 1 }),
      '/n',
      at(1),
    );
    expect(one.notice).toBe('recovered 1 message');
  });

  test('not recovered: the reason, and the channel position as it is now', () => {
    const lost = logic.readFrame(
      frame({
        type: 'recovery',
        recovered: false,
        count: 0,
        reason: 'epoch changed',
        channel: '/news',
        epoch: 'e2',
        offset: 0,
      }),
      '/news',
      at(5),
    );
    expect(lost).toMatchObject({ kind: 'unrecovered', notice: 'could not recover: epoch changed' });
    expect(lost.position).toEqual(at(0, 'e2'));
    expect(logic.readFrame(pub(1, 'new', 'e2'), '/news', lost.position)).toMatchObject({
      kind: 'pub',
      restarted: false,
    });
  });

  test('replayed publications in any mix: each offset shown once, in order', () => {
    const replays = fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.nat()), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), replays, (last, extra) => {
        // Offsets 1..last in order, with earlier ones sent again at random places.
        const sent: number[] = [];
        for (let offset = 1; offset <= last; offset++) {
          sent.push(offset);
          for (const [where, back] of extra) if (where === offset) sent.push(1 + (back % offset));
        }
        let position: Position | null = at(0);
        const shown: number[] = [];
        for (const offset of sent) {
          const read = logic.readFrame(pub(offset), '/news', position);
          if (read.kind === 'pub') shown.push(read.offset as number);
          position = read.position;
        }
        expect(shown).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      }),
      { seed },
    );
  });
});
