import { fail, ok } from '../../src/shared/result';
import { isAuthorized, parsePublication } from '../../src/master/http/publish';
import { parseDisconnect } from '../../src/master/http/disconnect-route';

describe('publish body and token', () => {
  test('the token must match exactly, as a Bearer credential', () => {
    expect(isAuthorized('Bearer secret-token', 'secret-token')).toBe(true);
    expect(isAuthorized('bearer secret-token', 'secret-token')).toBe(true);
    expect(isAuthorized('Bearer secret-tokeN', 'secret-token')).toBe(false);
    expect(isAuthorized('Bearer secret-token-and-more', 'secret-token')).toBe(false);
    expect(isAuthorized('Basic c2VjcmV0', 'secret-token')).toBe(false);
    expect(isAuthorized(undefined, 'secret-token')).toBe(false);
  });

  test.each([
    ['text/plain', 'hello', { data: 'hello' }],
    [undefined, '{"data":"raw"}', { data: '{"data":"raw"}' }],
    ['application/json', '{"data":"to all"}', { data: 'to all' }],
    [
      'application/json; charset=utf-8',
      '{"data":"one","client":"7"}',
      { data: 'one', client: '7' },
    ],
    ['application/json', '{"data":"one","client":7}', { data: 'one', client: '7' }],
    [
      'application/json',
      '{"data":"one","client":"box-a.1-7"}',
      { data: 'one', client: 'box-a.1-7' },
    ],
    ['application/json', '{"data":"news","channel":"/news"}', { data: 'news', channel: '/news' }],
  ])('%s %s', (type, body, expected) => {
    expect(parsePublication(type, Buffer.from(body))).toEqual(ok(expected));
  });

  test('an idempotency key: the header or "idempotency_key", which must agree', () => {
    const json = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));
    const q = new URLSearchParams('channel=/news');
    expect(parsePublication('text/plain', Buffer.from('hi'), q, 'order-42')).toEqual(
      ok({
        data: 'hi',
        channel: '/news',
        idempotencyKey: 'order-42',
      }),
    );
    const body = { data: 'x', channel: '/a', idempotency_key: 'k-1' };
    expect(parsePublication('application/json', json(body))).toEqual(
      ok({
        data: 'x',
        channel: '/a',
        idempotencyKey: 'k-1',
      }),
    );
    expect(parsePublication('application/json', json(body), undefined, 'k-1')).toMatchObject(
      ok({
        idempotencyKey: 'k-1',
      }),
    );
    expect(parsePublication('application/json', json(body), undefined, 'k-2')).toEqual(
      fail('Idempotency-Key and "idempotency_key" differ'),
    );
    expect(parsePublication('application/json', json({ data: 'x', idempotency_key: 7 }))).toEqual(
      fail('"idempotency_key" must be a string'),
    );
    for (const bad of ['', 'two words', 'é', 'k'.repeat(201), 'a, b']) {
      expect(parsePublication('text/plain', Buffer.from('x'), q, bad)).toEqual(
        fail(expect.stringMatching(/^Bad Idempotency-Key: /)),
      );
    }
    expect(
      parsePublication('application/json', json({ data: 'x', client: '3' }), undefined, 'k'),
    ).toEqual(fail(expect.stringMatching(/not to one client/)));
  });

  test('a text body takes its channel from the query', () => {
    expect(
      parsePublication('text/plain', Buffer.from('hi'), new URLSearchParams('channel=/news')),
    ).toEqual(ok({ data: 'hi', channel: '/news' }));
  });

  test.each([
    '{',
    '[]',
    '"x"',
    '{"data":5}',
    '{"data":"x","client":"seven"}',
    '{"data":"x","client":-1}',
    '{"data":"x","client":"a b-1"}',
    '{"data":"x","channel":5}',
    '{"data":"x","channel":"/a","client":"1"}',
  ])('bad JSON body %s is refused with a reason', (body) => {
    expect(parsePublication('application/json', Buffer.from(body))).toEqual(
      fail(expect.any(String)),
    );
  });
});

describe('publish to a user', () => {
  const json = (body: object): ReturnType<typeof parsePublication> =>
    parsePublication('application/json', Buffer.from(JSON.stringify(body)));

  test('{"user"} (or ?user= for a text body) targets a user', () => {
    expect(json({ data: 'x', user: '42' })).toEqual(ok({ data: 'x', user: '42' }));
    expect(json({ data: 'x', user: 42 })).toEqual(ok({ data: 'x', user: '42' }));
    expect(parsePublication('text/plain', Buffer.from('x'), new URLSearchParams('user=7'))).toEqual(
      ok({
        data: 'x',
        user: '7',
      }),
    );
  });

  test('one target at most; no empty user; no idempotency key for a user', () => {
    expect(json({ data: 'x', user: '42', channel: '/a' })).toEqual(
      fail('give one of "client", "channel" or "user"'),
    );
    expect(json({ data: 'x', user: '42', client: '1' })).toEqual(
      fail('give one of "client", "channel" or "user"'),
    );
    expect(json({ data: 'x', user: '' })).toEqual(fail('"user" must not be empty'));
    expect(json({ data: 'x', user: ['a'] })).toEqual(fail('"user" must be a string'));
    expect(json({ data: 'x', user: '42', idempotency_key: 'k1' })).toEqual(
      fail(expect.stringMatching(/not to one client or user/)),
    );
  });
});

describe('POST /disconnect body', () => {
  const parse = (text: string): ReturnType<typeof parseDisconnect> =>
    parseDisconnect(Buffer.from(text));

  test('{"client"} or {"user"}, exactly one', () => {
    expect(parse('{"client":"3"}')).toEqual(ok({ client: '3' }));
    expect(parse('{"client":3}')).toEqual(ok({ client: '3' }));
    expect(parse('{"client":"box-a.1-3"}')).toEqual(ok({ client: 'box-a.1-3' }));
    expect(parse('{"user":"42"}')).toEqual(ok({ user: '42' }));
    expect(parse('{"user":42}')).toEqual(ok({ user: '42' }));
    expect(parse('{}')).toEqual(fail('give "client" or "user"'));
    expect(parse('{"client":"1","user":"2"}')).toEqual(fail('give "client" or "user"'));
    expect(parse('{"client":"0"}')).toEqual(fail('"client" must be a client id'));
    expect(parse('{"user":""}')).toEqual(fail('"user" must be a non-empty string'));
    expect(parse('[1]')).toEqual(fail('body must be a JSON object'));
    expect(parse('nope')).toEqual(fail('body is not valid JSON'));
  });
});
