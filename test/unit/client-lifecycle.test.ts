import {
  addressOf,
  ClientLifecycle,
  type ClientEnded,
} from '../../src/master/clients/client-lifecycle';

const client = (id: number): Parameters<ClientLifecycle['connected']>[0] => ({
  id,
  remote: '10.0.0.1:4242',
  channel: '/news',
  since: new Date(1000),
  user: 'ann',
});

describe('ClientLifecycle', () => {
  let now = 1000;
  let lifecycle: ClientLifecycle;
  let ended: ClientEnded[];
  let connected: number;
  beforeEach(() => {
    now = 1000;
    lifecycle = new ClientLifecycle(
      () => 'host.1.abc',
      () => now,
    );
    ended = [];
    connected = 0;
    lifecycle.on('ended', (event) => ended.push(event));
    lifecycle.on('connected', () => connected++);
  });

  test('a goodbye then the reaping make one end with the close code, side and exit', () => {
    lifecycle.connected(client(7));
    lifecycle.goodbye(7, { code: 1000, side: 'client' });
    now = 3500;
    lifecycle.reaped(7, { exitCode: 0, exitSignal: null });
    lifecycle.reaped(7, { exitCode: 0, exitSignal: null });
    expect(connected).toBe(1);
    expect(ended).toEqual([
      expect.objectContaining({
        globalId: 'host.1.abc-7',
        address: '10.0.0.1',
        user: 'ann',
        transport: 'websocket',
        durationMs: 2500,
        closeCode: 1000,
        closedBy: 'client',
        exitCode: 0,
        exitSignal: null,
      }),
    ]);
  });

  test('a SIGKILLed worker (no goodbye) ends with 1006 on the server side, once', () => {
    lifecycle.connected(client(8));
    lifecycle.reaped(8, { exitCode: null, exitSignal: 'SIGKILL' });
    lifecycle.ended(8, { exitCode: null, exitSignal: 'SIGKILL' });
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ closeCode: 1006, closedBy: 'server', exitSignal: 'SIGKILL' });
    expect(lifecycle.size).toBe(0);
  });

  test('an adopted client (hot upgrade) has no connected event, one adopted event and one end', () => {
    const adopted: number[] = [];
    lifecycle.on('adopted', (event) => adopted.push(event.id));
    lifecycle.adopted({
      id: 3,
      globalId: 'old-3',
      channel: '/',
      remote: '[::1]:5000',
      address: '::1',
      transport: 'websocket',
      presence: false,
      since: new Date(0),
    });
    lifecycle.ended(3, { exitCode: 0, exitSignal: null }, { code: 1001, side: 'server' });
    lifecycle.ended(3, { exitCode: 0, exitSignal: null });
    expect(connected).toBe(0);
    expect(adopted).toEqual([3]);
    expect(ended.map((event) => [event.id, event.closeCode])).toEqual([[3, 1001]]);
  });

  test('after a hand-over the old master tells no end (the new one does); a failed one tells them late', () => {
    lifecycle.connected(client(1));
    lifecycle.connected(client(2));
    lifecycle.handOver();
    lifecycle.goodbye(1, { code: 1012, side: 'server' });
    lifecycle.reaped(1, { exitCode: 0, exitSignal: null });
    expect(ended).toEqual([]);
    expect(lifecycle.size).toBe(1);
    // The new master died: this one serves again, and tells what it held, once.
    lifecycle.resume();
    lifecycle.resume();
    expect(ended.map((event) => [event.id, event.closeCode])).toEqual([[1, 1012]]);
    lifecycle.reaped(2, { exitCode: 0, exitSignal: null });
    expect(ended.map((event) => event.id)).toEqual([1, 2]);
  });

  test('a client never connected is never ended; a goodbye for it is not kept', () => {
    lifecycle.goodbye(99, { code: 1000, side: 'client' });
    lifecycle.reaped(99, { exitCode: 0, exitSignal: null });
    expect(ended).toEqual([]);
  });
});

describe('addressOf', () => {
  test.each([
    ['1.2.3.4:5678', '1.2.3.4'],
    ['[::1]:5678', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['10.0.0.9', '10.0.0.9'],
  ])('%s is %s', (remote, address) => expect(addressOf(remote)).toBe(address));
});
