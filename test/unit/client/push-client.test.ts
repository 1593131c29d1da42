import {
  PushClient,
  type PushClientOptions,
  type StateEvent,
} from '../../../src/client/lib/client';
import type { ConnectionHandlers, Transport } from '../../../src/client/lib/transport';
import { FakeClock, FakeSocket, FakeWebSocket, settle } from './fake-socket';

/**
 * The client library against a fake socket and a fake clock: what it connects to, when
 * it comes back, what it tells its listeners, and when it stays away.
 */
interface Harness {
  client: PushClient;
  clock: FakeClock;
  states: StateEvent[];
  events: [string, unknown][];
}

function harness(url = 'ws://push.test:5001/news', options: PushClientOptions = {}): Harness {
  const clock = new FakeClock();
  const client = new PushClient(url, {
    WebSocket: FakeWebSocket,
    clock,
    random: () => 0.5,
    fetch: undefined,
    healthUrl: null,
    ...options,
  });
  const states: StateEvent[] = [];
  const events: [string, unknown][] = [];
  client.on('state', (event) => states.push(event));
  for (const type of [
    'push',
    'direct',
    'pub',
    'duplicate',
    'position',
    'recovery',
    'gap',
    'message',
    'error',
  ] as const) {
    client.on(type, (event) => events.push([type, event]));
  }
  return { client, clock, states, events };
}

const stateNames = (h: Harness): string[] => h.states.map((s) => s.state);

beforeEach(() => {
  FakeSocket.made = [];
});

describe('connecting', () => {
  test('the channel as path, JSON frames; http URLs are taken as ws', () => {
    const h = harness('http://push.test:5001/news/?x=1#frag');
    expect(h.client.channel).toBe('/news');
    expect(h.client.state).toBe('idle');
    h.client.connect();
    expect(FakeSocket.last.url).toBe('ws://push.test:5001/news?x=1&format=json');
    FakeSocket.last.accept();
    expect(stateNames(h)).toEqual(['connecting', 'open']);
    expect(new PushClient('https://h/', { WebSocket: FakeWebSocket }).socketUrl()).toBe(
      'wss://h/?format=json',
    );
  });

  test('a bad channel or scheme, or no WebSocket at all, is refused at once with the reason', () => {
    expect(() => new PushClient('ws://h/a%2Fb', { WebSocket: FakeWebSocket })).toThrow(
      'not a channel: "%2F" is not allowed in a channel',
    );
    expect(() => new PushClient('ftp://h/', { WebSocket: FakeWebSocket })).toThrow(/ftp:/);
    const hadGlobal = 'WebSocket' in globalThis;
    if (!hadGlobal) expect(() => new PushClient('ws://h/')).toThrow(/options\.WebSocket/);
  });

  test('a known position is where it resumes; the token goes along', () => {
    const h = harness('ws://h/news', { position: { epoch: 'ab 12', offset: 42 }, token: 't0k' });
    h.client.connect();
    expect(FakeSocket.last.url).toBe('ws://h/news?format=json&since=42&epoch=ab+12&token=t0k');
  });

  test('delivers each kind of frame to its event', () => {
    const h = harness();
    h.client.connect();
    const socket = FakeSocket.last;
    socket.accept();
    socket.frame({ type: 'push', data: 'Connected to worker PID 7 as client #1' });
    socket.frame({ type: 'position', channel: '/news', epoch: 'e1', offset: 2 });
    socket.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 3, data: 'hello' });
    socket.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 3, data: 'hello' });
    socket.frame({ type: 'pub', channel: '*', epoch: 'b', offset: 70, data: 'all' });
    socket.frame({ type: 'direct', data: 'you' });
    socket.frame({ type: 'wave' });
    expect(h.events).toEqual([
      ['push', { data: 'Connected to worker PID 7 as client #1' }],
      ['position', { channel: '/news', epoch: 'e1', offset: 2 }],
      ['pub', { channel: '/news', epoch: 'e1', offset: 3, data: 'hello', restarted: false }],
      ['duplicate', { channel: '/news', epoch: 'e1', offset: 3 }],
      ['pub', { channel: '*', epoch: 'b', offset: 70, data: 'all', restarted: false }],
      ['direct', { data: 'you' }],
      ['message', { text: '{"type":"wave"}' }],
    ]);
    expect(h.client.position).toEqual({ epoch: 'e1', offset: 3 });
    expect(h.client.send('hi')).toBe(true);
    expect(socket.sent).toEqual(['hi']);
  });

  test('a connection not open in 10 s is abandoned and tried again', () => {
    const h = harness();
    h.client.connect();
    const first = FakeSocket.last;
    h.clock.advance(9999);
    expect(first.closedWith).toBeUndefined();
    h.clock.advance(1);
    expect(first.closedWith).toEqual({ code: undefined, reason: undefined });
    expect(h.states.at(-1)).toMatchObject({
      state: 'reconnecting',
      code: 1006,
      reason: 'open timeout',
      wasOpen: false,
    });
    first.accept(); // too late: ignored
    expect(h.client.state).toBe('reconnecting');
  });
});

describe('coming back', () => {
  test('back-off: 0.25-0.5 s, doubling to 15-30 s; a connection up 5 s starts it afresh', () => {
    const h = harness('ws://h/', { random: () => 0 });
    h.client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      FakeSocket.last.drop(1006);
      const waiting = h.states.at(-1) as StateEvent;
      delays.push(waiting.delayMs as number);
      h.clock.advance(waiting.delayMs as number);
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    // Up for 4.9 s: not a good connection; the wait keeps growing.
    FakeSocket.last.accept();
    h.clock.advance(4900);
    FakeSocket.last.drop(1006);
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', delayMs: 15000, wasOpen: true });
    h.clock.advance(15000);
    FakeSocket.last.accept();
    h.clock.advance(5000);
    FakeSocket.last.drop(1001, 'going away');
    expect(h.states.at(-1)).toMatchObject({
      state: 'reconnecting',
      delayMs: 250,
      code: 1001,
      reason: 'going away',
      attempt: 1,
    });
  });

  test('comes back with the position it kept, and tells what recovery found', () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.accept();
    FakeSocket.last.frame({ type: 'position', channel: '/news', epoch: 'e1', offset: 0 });
    FakeSocket.last.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 1, data: 'a' });
    FakeSocket.last.drop(1006);
    h.clock.advance(500);
    const again = FakeSocket.last;
    expect(again.url).toBe('ws://push.test:5001/news?format=json&since=1&epoch=e1');
    again.accept();
    again.frame({
      type: 'recovery',
      recovered: true,
      count: 2,
      channel: '/news',
      epoch: 'e1',
      offset: 3,
    });
    again.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 2, data: 'b' });
    again.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 3, data: 'c' });
    expect(h.events.filter(([type]) => type === 'recovery' || type === 'pub')).toEqual([
      ['pub', expect.objectContaining({ offset: 1 })],
      [
        'recovery',
        { recovered: true, count: 2, reason: undefined, position: { epoch: 'e1', offset: 1 } },
      ],
      ['pub', expect.objectContaining({ offset: 2, data: 'b' })],
      ['pub', expect.objectContaining({ offset: 3, data: 'c' })],
    ]);
  });

  test('a handshake refused: /healthz Retry-After, when longer, sets the wait', async () => {
    const asked: string[] = [];
    const fetch: PushClientOptions['fetch'] = (url) => {
      asked.push(url);
      return Promise.resolve({
        status: 503,
        headers: { get: (name) => (name === 'Retry-After' ? '7' : null) },
      });
    };
    const h = harness('wss://push.test/news', { fetch, healthUrl: undefined });
    h.client.connect();
    FakeSocket.last.drop(1006);
    expect(h.states.at(-1)).toMatchObject({
      state: 'reconnecting',
      delayMs: 375,
      retryAfter: false,
    });
    await settle();
    expect(asked).toEqual(['https://push.test/healthz']);
    expect(h.states.at(-1)).toMatchObject({
      state: 'reconnecting',
      delayMs: 7500,
      retryAfter: true,
    });
    h.clock.advance(7499);
    expect(FakeSocket.made).toHaveLength(1);
    h.clock.advance(1);
    expect(FakeSocket.made).toHaveLength(2);
    // A drop after the connection opened asks nothing.
    FakeSocket.last.accept();
    FakeSocket.last.drop(1006);
    await settle();
    expect(asked).toHaveLength(1);
  });

  test('a refused event stream: its retry sets the wait, no sooner; /healthz is not asked', async () => {
    const asked: string[] = [];
    const fetch: PushClientOptions['fetch'] = (url) => {
      asked.push(url);
      return Promise.resolve({ status: 503, headers: { get: () => '1' } });
    };
    const dialled: ConnectionHandlers[] = [];
    const transport: Transport = {
      name: 'sse',
      connect: (_url, handlers) => {
        dialled.push(handlers);
        return { isOpen: false, send: () => undefined, close: () => undefined };
      },
    };
    const h = harness('ws://h/news', { transport, fetch, healthUrl: 'http://h/healthz' });
    h.client.connect();
    dialled[0].close(1006, 'refused: 503 SERVER_FULL', 5000);
    // 5 s plus a draw of up to half (0.5 here), instead of the back-off's 375 ms.
    expect(h.states.at(-1)).toMatchObject({
      state: 'reconnecting',
      wasOpen: false,
      delayMs: 6250,
      retryAfter: true,
    });
    await settle();
    expect(asked).toEqual([]);
    h.clock.advance(6249);
    expect(dialled).toHaveLength(1);
    h.clock.advance(1);
    expect(dialled).toHaveLength(2);
    // A retry shorter than the back-off's wait leaves the back-off (the second attempt's).
    dialled[1].close(1006, 'refused: 429 RATE_LIMITED', 250);
    expect(h.states.at(-1)).toMatchObject({ delayMs: 750, retryAfter: false });
  });

  test('healthz 200, or a Retry-After shorter than the wait, leaves the back-off', async () => {
    let answer = { status: 200, retryAfter: '60' };
    const fetch: PushClientOptions['fetch'] = () =>
      Promise.resolve({
        status: answer.status,
        headers: { get: () => answer.retryAfter },
      });
    const h = harness('ws://h/', { fetch, healthUrl: 'http://h/healthz', random: () => 0 });
    h.client.connect();
    FakeSocket.last.drop(1006);
    await settle();
    expect(h.states.filter((s) => s.retryAfter)).toEqual([]);
    answer = { status: 503, retryAfter: '0' };
    h.clock.advance(250);
    FakeSocket.last.drop(1006);
    await settle();
    expect(h.states.filter((s) => s.retryAfter)).toEqual([]);
    expect(h.clock.nextIn()).toBe(500);
  });

  test('a publication that skips offsets: a gap event, and back with since to recover them', () => {
    const h = harness();
    h.client.connect();
    const first = FakeSocket.last;
    first.accept();
    first.frame({ type: 'position', channel: '/news', epoch: 'e1', offset: 4 });
    first.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 7, data: 'seven' });
    first.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 8, data: 'eight' });
    expect(h.events.filter(([type]) => type === 'pub')).toEqual([]);
    expect(h.events.at(-1)).toEqual([
      'gap',
      { channel: '/news', epoch: 'e1', from: 5, to: 6, reason: 'skipped', source: 'client' },
    ]);
    expect(first.closedWith).toEqual({ code: 1000, reason: 'recovering a gap' });
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(375);
    expect(FakeSocket.last.url).toBe('ws://push.test:5001/news?format=json&since=4&epoch=e1');
  });

  test("the server's gap frame: a gap event, no reconnect, and the next publication follows on", () => {
    const h = harness();
    h.client.connect();
    const socket = FakeSocket.last;
    socket.accept();
    socket.frame({ type: 'position', channel: '/news', epoch: 'e1', offset: 4 });
    socket.frame({
      type: 'gap',
      channel: '/news',
      epoch: 'e1',
      from: 5,
      to: 6,
      reason: 'backplane down',
    });
    socket.frame({ type: 'pub', channel: '/news', epoch: 'e1', offset: 7, data: 'seven' });
    expect(h.events.slice(1)).toEqual([
      [
        'gap',
        {
          channel: '/news',
          epoch: 'e1',
          from: 5,
          to: 6,
          reason: 'backplane down',
          source: 'server',
        },
      ],
      ['pub', expect.objectContaining({ offset: 7 })],
    ]);
    expect(h.client.state).toBe('open');
  });
});

describe('tokens', () => {
  test('a token function is asked before each connection; 4001 "token expired" comes back with a fresh one', async () => {
    let issued = 0;
    const h = harness('ws://h/news', { token: () => Promise.resolve(`tok${++issued}`) });
    h.client.connect();
    expect(FakeSocket.made).toHaveLength(0);
    await settle();
    expect(FakeSocket.last.url).toBe('ws://h/news?format=json&token=tok1');
    FakeSocket.last.accept();
    FakeSocket.last.frame({ type: 'position', channel: '/news', epoch: 'e', offset: 9 });
    FakeSocket.last.drop(4001, 'token expired');
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', code: 4001 });
    h.clock.advance(500);
    await settle();
    expect(FakeSocket.last.url).toBe('ws://h/news?format=json&since=9&epoch=e&token=tok2');
  });

  test('a token function that fails: an error event, and tried again after the back-off', async () => {
    let calls = 0;
    const h = harness('ws://h/', {
      token: () => {
        calls++;
        if (calls === 1) throw new Error('auth server down');
        return 'ok';
      },
    });
    h.client.connect();
    await settle();
    expect(h.events).toEqual([['error', { error: new Error('auth server down') }]]);
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'no token' });
    expect(FakeSocket.made).toHaveLength(0);
    h.clock.advance(375);
    await settle();
    expect(FakeSocket.last.url).toBe('ws://h/?format=json&token=ok');
  });
});

describe('stopping', () => {
  test('quit() sends "quit"; the close that follows does not bring it back', () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.accept();
    h.client.quit();
    expect(FakeSocket.last.sent).toEqual(['quit']);
    expect(h.client.state).toBe('closing');
    FakeSocket.last.drop(1000);
    expect(h.states.at(-1)).toMatchObject({ state: 'closed', code: 1000 });
    h.clock.advance(60000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });

  test('quit() or close() while waiting to reconnect: no more tries, no timer left', () => {
    for (const stop of ['quit', 'close'] as const) {
      FakeSocket.made = [];
      const h = harness();
      h.client.connect();
      FakeSocket.last.drop(1006);
      h.client[stop]();
      expect(h.client.state).toBe('closed');
      expect(h.clock.pending).toBe(0);
      h.clock.advance(60000);
      expect(FakeSocket.made).toHaveLength(1);
    }
  });

  test('close() while open closes with 1000; while connecting drops the attempt', () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.accept();
    h.client.close();
    expect(FakeSocket.last.closedWith).toEqual({ code: 1000, reason: '' });
    FakeSocket.last.drop(1000);
    expect(stateNames(h)).toEqual(['connecting', 'open', 'closing', 'closed']);
    h.client.connect();
    const attempt = FakeSocket.last;
    h.client.close();
    expect(attempt.closedWith).toBeDefined();
    attempt.drop(1006); // its late close changes nothing
    expect(stateNames(h).slice(4)).toEqual(['connecting', 'closed']);
    expect(h.clock.pending).toBe(0);
  });

  test('4002 (disconnected by the publisher API) is final: closed, no reconnect', () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.accept();
    FakeSocket.last.drop(4002, 'disconnected');
    expect(h.states.at(-1)).toMatchObject({ state: 'closed', code: 4002 });
    expect(h.clock.pending).toBe(0);
  });

  test("1012 from a drain comes back after the reason's hint, plus up to half of it", () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.accept();
    FakeSocket.last.drop(1012, 'service restart; reconnect in 800 ms');
    // random() is 0.5 here: 800 + 0.5 × 400.
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', code: 1012, delayMs: 1000 });
    h.clock.advance(999);
    expect(FakeSocket.made).toHaveLength(1);
    h.clock.advance(1);
    expect(FakeSocket.made).toHaveLength(2);
  });

  test('1012 without a hint reconnects with the usual back-off', () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.accept();
    FakeSocket.last.drop(1012, 'service restart');
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', code: 1012, delayMs: 375 });
  });

  test('connect() while waiting connects at once; Reconnect after closed starts again', () => {
    const h = harness();
    h.client.connect();
    FakeSocket.last.drop(1006);
    h.client.connect();
    expect(FakeSocket.made).toHaveLength(2);
    expect(h.clock.pending).toBe(1); // the open timeout only
    h.client.quit();
    h.client.connect();
    expect(FakeSocket.made).toHaveLength(3);
    expect(h.client.state).toBe('connecting');
  });
});
