import { addressKey } from '../../src/master/http/address-limits';
import { BurstLog } from '../../src/master/http/burst-log';
import { ConnectRateTable, parseConnectRate } from '../../src/master/http/connect-rate';
import { ClientDirectory } from '../../src/master/clients/client-directory';
import { Worker } from '../../src/master/pool/worker';
import { FakeChild } from './fakes';

describe('ConnectRateTable (--connect-rate)', () => {
  test('BURST handshakes in a row, then RATE a second; Retry-After is the wait for a token', () => {
    let now = 1_000_000;
    const table = new ConnectRateTable({ rate: 2, burst: 3 }, () => now);
    for (let i = 0; i < 3; i++) expect(table.take('10.0.0.1')).toEqual({ ok: true });
    expect(table.take('10.0.0.1')).toEqual({ ok: false, retryAfterS: 1 });
    // Another address has a bucket of its own.
    expect(table.take('10.0.0.2')).toEqual({ ok: true });
    now += 500; // one token back at 2 a second
    expect(table.take('10.0.0.1')).toEqual({ ok: true });
    expect(table.take('10.0.0.1').ok).toBe(false);
  });

  test('a slow rate tells a longer wait', () => {
    let now = 0;
    const table = new ConnectRateTable({ rate: 0.1, burst: 1 }, () => now);
    expect(table.take('a').ok).toBe(true);
    expect(table.take('a')).toEqual({ ok: false, retryAfterS: 10 });
    now += 4000;
    expect(table.take('a')).toEqual({ ok: false, retryAfterS: 6 });
  });

  test('bounded: full buckets are swept, and the table never passes its bound', () => {
    let now = 0;
    const table = new ConnectRateTable({ rate: 10, burst: 10 }, () => now, 100);
    for (let i = 0; i < 1000; i++) table.take(`10.0.${i >> 8}.${i & 255}`);
    expect(table.size).toBe(100);
    now += 2000; // every bucket refilled
    table.take('10.9.9.9');
    expect(table.size).toBe(1);
  });

  test('the flag: RATE, RATE/s, RATE:BURST; 0 is off', () => {
    expect(parseConnectRate('10')).toEqual({ ok: true, value: { rate: 10, burst: 20 } });
    expect(parseConnectRate('0.5/s')).toEqual({ ok: true, value: { rate: 0.5, burst: 1 } });
    expect(parseConnectRate('3:7')).toEqual({ ok: true, value: { rate: 3, burst: 7 } });
    expect(parseConnectRate('0')).toEqual({ ok: true, value: undefined });
    expect(parseConnectRate('-1')).toEqual({ ok: false, error: expect.any(String) });
  });
});

describe('addressKey', () => {
  test('IPv4 as it is (mapped IPv6 too); IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('ClientDirectory per address (--max-clients-per-ip)', () => {
  const worker = (): Worker => new Worker(new FakeChild().asChild);

  test('counts handshakes and clients per address; leaving frees the place; empty entries go', () => {
    const directory = new ClientDirectory(10, 2);
    const first = directory.reserve('10.0.0.1');
    const second = directory.reserve('10.0.0.1');
    expect(directory.addressFull('10.0.0.1')).toBe(true);
    expect(directory.addressFull('10.0.0.2')).toBe(false);
    second?.cancel();
    expect(directory.addressFull('10.0.0.1')).toBe(false);
    const client = first?.admit(worker(), '10.0.0.1:1', '/');
    expect(directory.addressLoad('10.0.0.1')).toBe(1);
    directory.remove(client?.id ?? 0);
    expect(directory.addressLoad('10.0.0.1')).toBe(0);
  });

  test('without the flag no address is ever full', () => {
    const directory = new ClientDirectory(10);
    for (let i = 0; i < 5; i++) directory.reserve('10.0.0.1');
    expect(directory.addressFull('10.0.0.1')).toBe(false);
  });
});

describe('BurstLog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('one line for the first event, one summary per interval, then quiet is forgotten', () => {
    const lines: string[] = [];
    const log = new BurstLog(1000, (line) => lines.push(line));
    const line = { first: 'first', more: (count: number) => `${count} more` };
    for (let i = 0; i < 250; i++) log.event('k', line);
    expect(lines).toEqual(['first']);
    jest.advanceTimersByTime(1000);
    expect(lines).toEqual(['first', '249 more']);
    log.event('k', line);
    jest.advanceTimersByTime(1000);
    expect(lines).toEqual(['first', '249 more', '1 more']);
    jest.advanceTimersByTime(1000); // a quiet interval: the burst is over
    expect(log.tracked).toBe(0);
    log.event('k', line);
    expect(lines.at(-1)).toBe('first');
  });

  test('bounded: keys past the bound are counted together', () => {
    const lines: string[] = [];
    const log = new BurstLog(
      1000,
      (line) => lines.push(line),
      (count) => `${count} others`,
      3,
    );
    for (let i = 0; i < 10; i++) log.event(`k${i}`, { first: `k${i}`, more: String });
    expect(log.tracked).toBe(3);
    expect(lines).toEqual(['k0', 'k1', 'k2']);
    jest.advanceTimersByTime(1000);
    expect(lines).toEqual(['k0', 'k1', 'k2', '7 others']);
  });
});
