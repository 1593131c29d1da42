import type http from 'node:http';
import { adminOnly, isLoopbackHost, openAdminWarning } from '../../src/master/http/admin-access';
import { identifyClient } from '../../src/master/http/client-identity';
import { parseTrustProxy } from '../../src/master/http/client-address';
import type { Refusal } from '../../src/master/http/refusal';
import type { RequestContext, Route } from '../../src/master/http/router';

/** Runs a route with an Authorization header; says whether it served or refused, and how. */
function call(route: Route, authorization?: string): string {
  let outcome = 'served';
  // Both routes here answer synchronously: nothing to wait for.
  void route.handle({
    req: { headers: { authorization } } as http.IncomingMessage,
    refuse: ({ status, headers }: Refusal) => {
      outcome = `${status} ${headers?.['WWW-Authenticate']}`;
    },
  } as unknown as RequestContext);
  return outcome;
}

describe('admin access', () => {
  const inner: Route = { methods: ['GET'], handle: () => undefined };

  test('without a token the route is left open', () => {
    expect(adminOnly(undefined, inner)).toBe(inner);
  });

  test('with a token: the right Bearer token passes, anything else is 401 with a challenge', () => {
    const route = adminOnly('s3cret-admin', inner);
    expect(route.methods).toEqual(['GET']);
    expect(call(route, 'Bearer s3cret-admin')).toBe('served');
    expect(call(route, 'bearer   s3cret-admin ')).toBe('served');
    for (const header of [undefined, '', 'Bearer wrong-token', 'Basic czNjcmV0', 's3cret-admin']) {
      expect(call(route, header)).toMatch(/^401 Bearer realm=/);
    }
  });

  test('loopback hosts', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect([host, isLoopbackHost(host)]).toEqual([host, true]);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) {
      expect([host, isLoopbackHost(host)]).toEqual([host, false]);
    }
  });

  test('a warning only for an open /status on a non-loopback address', () => {
    expect(openAdminWarning({ host: '127.0.0.1', adminToken: undefined })).toBeUndefined();
    expect(openAdminWarning({ host: '0.0.0.0', adminToken: 'long-enough' })).toBeUndefined();
    expect(openAdminWarning({ host: '0.0.0.0', adminToken: undefined })).toMatch(
      /\/status shows every client's address.*--admin-token/,
    );
  });
});

describe('client identity', () => {
  const trusted = parseTrustProxy(['127.0.0.1', '10.0.0.0/8']);

  test('a direct client is its TCP peer, headers or not', () => {
    const headers = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' };
    expect(identifyClient('192.0.2.9', 4000, headers, trusted)).toEqual({
      remote: '192.0.2.9:4000',
      address: '192.0.2.9',
      port: 4000,
      via: undefined,
      proto: 'http',
    });
    expect(identifyClient('127.0.0.1', 4000, headers).remote).toBe('127.0.0.1:4000');
  });

  test('from a trusted proxy, the client its X-Forwarded-For names, without a port', () => {
    const headers = {
      'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.1.2.3',
      'x-forwarded-proto': 'https',
    };
    expect(identifyClient('::ffff:127.0.0.1', 4000, headers, trusted)).toEqual({
      remote: '203.0.113.7',
      address: '203.0.113.7',
      port: undefined,
      via: '[::ffff:127.0.0.1]:4000',
      proto: 'https',
    });
  });

  test('a trusted proxy that names nobody leaves the peer as it is', () => {
    expect(identifyClient('127.0.0.1', 4000, {}, trusted)).toMatchObject({
      remote: '127.0.0.1:4000',
      port: 4000,
      via: undefined,
    });
  });
});
