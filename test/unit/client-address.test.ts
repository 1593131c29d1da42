import fc from 'fast-check';
import {
  canonicalAddress,
  clientAddress,
  parseTrustProxy,
  TrustProxyError,
} from '../../src/master/http/client-address';

describe('--trust-proxy entries', () => {
  test('addresses and CIDR blocks of both families, comma-separated or repeated', () => {
    const trusted = parseTrustProxy(['127.0.0.1, 10.0.0.0/8', '::1,fd00::/8']);
    expect(trusted.entries).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    for (const address of ['127.0.0.1', '10.255.0.3', '::1', 'fd12:3456::1']) {
      expect(trusted.has(address)).toBe(true);
    }
    for (const address of ['127.0.0.2', '11.0.0.1', '::2', 'fe80::1', 'garbage']) {
      expect(trusted.has(address)).toBe(false);
    }
  });

  test('IPv4-mapped IPv6 is the same host as its IPv4 address, either way round', () => {
    const v4 = parseTrustProxy('10.0.0.0/8');
    expect(v4.has('::ffff:10.1.2.3')).toBe(true);
    expect(v4.has('::FFFF:a01:203')).toBe(true);
    expect(v4.has('::ffff:11.1.2.3')).toBe(false);
    const mapped = parseTrustProxy('::ffff:192.168.1.0/120,::ffff:127.0.0.1');
    expect(mapped.entries).toEqual(['192.168.1.0/24', '127.0.0.1']);
    expect(mapped.has('192.168.1.77')).toBe(true);
    expect(mapped.has('127.0.0.1')).toBe(true);
    expect(mapped.has('192.168.2.1')).toBe(false);
  });

  test('a /0 trusts every address of its family only', () => {
    const all4 = parseTrustProxy('0.0.0.0/0');
    expect(all4.has('203.0.113.9')).toBe(true);
    expect(all4.has('2001:db8::1')).toBe(false);
  });

  test('no values: nobody is trusted', () => {
    expect(parseTrustProxy([]).has('127.0.0.1')).toBe(false);
  });

  test.each([
    ['localhost', /"localhost" is not an IP address or CIDR block/],
    ['10.0.0.0/33', /"10.0.0.0\/33" has a prefix over \/32/],
    ['::1/129', /prefix over \/128/],
    ['10.0.0.0/', /not an IP address/],
    ['10.0.0.0/8/8', /not an IP address/],
    ['1.2.3.4:80', /not an IP address/],
    ['010.0.0.1', /not an IP address/],
    ['10.0.0.1,,10.0.0.2', /empty entry/],
    ['', /empty entry/],
  ])('%j is refused with a message naming it', (value, message) => {
    expect(() => parseTrustProxy(value)).toThrow(TrustProxyError);
    expect(() => parseTrustProxy(value)).toThrow(message);
  });
});

describe('canonical addresses as proxies write them', () => {
  test.each([
    ['203.0.113.9', '203.0.113.9'],
    [' 203.0.113.9 ', '203.0.113.9'],
    ['203.0.113.9:51234', '203.0.113.9'],
    ['2001:DB8::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['::ffff:c633:6407', '198.51.100.7'],
  ])('%j is %j', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });

  test.each(['unknown', '', '_hidden', '1.2.3', '1.2.3.4.5', '[::1', 'example.com'])(
    '%j is not an address',
    (text) => {
      expect(canonicalAddress(text)).toBeUndefined();
    },
  );
});

describe('the client address behind proxies', () => {
  const trusted = parseTrustProxy('127.0.0.1,10.0.0.0/8');

  test('an untrusted peer: its own address, forwarding headers ignored', () => {
    expect(
      clientAddress(
        '198.51.100.7',
        { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' },
        trusted,
      ),
    ).toEqual({ address: '198.51.100.7', proto: 'http' });
  });

  test('no --trust-proxy: the peer even when it is loopback', () => {
    expect(
      clientAddress(
        '127.0.0.1',
        { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' },
        parseTrustProxy([]),
      ),
    ).toEqual({ address: '127.0.0.1', proto: 'http' });
  });

  test('a trusted nginx in front: the address it appended and its scheme', () => {
    expect(
      clientAddress(
        '127.0.0.1',
        { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
        trusted,
      ),
    ).toEqual({ address: '198.51.100.7', proto: 'https' });
  });

  test('a client posing as someone else: the right-most untrusted address wins', () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; nginx appended the real peer.
    expect(
      clientAddress('127.0.0.1', { 'x-forwarded-for': '1.2.3.4, 198.51.100.7' }, trusted),
    ).toEqual({ address: '198.51.100.7', proto: 'http' });
  });

  test('a chain of trusted proxies is walked past', () => {
    expect(
      clientAddress(
        '127.0.0.1',
        { 'x-forwarded-for': '1.2.3.4, 198.51.100.7, 10.1.1.1, 10.2.2.2' },
        trusted,
      ).address,
    ).toBe('198.51.100.7');
  });

  test('repeated headers (joined or as an array) read as one list', () => {
    expect(
      clientAddress(
        '127.0.0.1',
        { 'x-forwarded-for': ['1.2.3.4', '198.51.100.7, 10.0.0.1'] },
        trusted,
      ).address,
    ).toBe('198.51.100.7');
  });

  test('every entry trusted: the left-most, the furthest known', () => {
    expect(
      clientAddress('127.0.0.1', { 'x-forwarded-for': '10.9.9.9, 10.0.0.1' }, trusted).address,
    ).toBe('10.9.9.9');
  });

  test('garbage stops the walk at the last address verified', () => {
    expect(
      clientAddress('127.0.0.1', { 'x-forwarded-for': '1.2.3.4, unknown, 10.0.0.5' }, trusted)
        .address,
    ).toBe('10.0.0.5');
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '' }, trusted).address).toBe(
      '127.0.0.1',
    );
  });

  test('a trusted peer with no X-Forwarded-For is the client itself', () => {
    expect(clientAddress('10.0.0.1', {}, trusted)).toEqual({ address: '10.0.0.1', proto: 'http' });
  });

  test('an IPv4-mapped peer (a server listening on ::) is trusted as its IPv4 address', () => {
    expect(
      clientAddress('::ffff:127.0.0.1', { 'x-forwarded-for': '[2001:db8::5]:4431' }, trusted),
    ).toEqual({ address: '2001:db8::5', proto: 'http' });
  });

  test.each([
    ['https', 'https'],
    ['HTTPS', 'https'],
    ['wss', 'https'],
    ['http', 'http'],
    ['https, http', 'http'],
    ['http, https', 'https'],
    ['gopher', 'http'],
  ])('X-Forwarded-Proto %j from a trusted proxy is %j', (header, proto) => {
    expect(clientAddress('127.0.0.1', { 'x-forwarded-proto': header }, trusted).proto).toBe(proto);
  });

  test('an unknown peer address is passed through', () => {
    expect(clientAddress(undefined, { 'x-forwarded-for': '1.2.3.4' }, trusted)).toEqual({
      address: undefined,
      proto: 'http',
    });
  });
});

describe('property: a forged prefix never changes the answer', () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  const trusted = parseTrustProxy('10.0.0.0/8');
  const untrusted = fc.ipV4().filter((address) => !address.startsWith('10.'));
  const proxy = fc.ipV4().map((address) => `10.${address.split('.').slice(1).join('.')}`);

  test(`the right-most untrusted hop is the client (seed ${seed})`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('unknown', '')), {
          maxLength: 5,
        }),
        untrusted,
        fc.array(proxy, { maxLength: 4 }),
        proxy,
        (forged, client, proxies, peer) => {
          const header = [...forged, client, ...proxies].join(', ');
          expect(clientAddress(peer, { 'x-forwarded-for': header }, trusted).address).toBe(client);
        },
      ),
      { seed, numRuns: 500 },
    );
  });
});
