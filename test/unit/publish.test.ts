import { isAuthorized, parsePublication } from '../../src/master/http/publish';

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
    ['text/plain', 'hello', { data: 'hello', client: undefined }],
    [undefined, '{"data":"raw"}', { data: '{"data":"raw"}', client: undefined }],
    ['application/json', '{"data":"to all"}', { data: 'to all', client: undefined }],
    ['application/json; charset=utf-8', '{"data":"one","client":"7"}', { data: 'one', client: 7 }],
    ['application/json', '{"data":"one","client":7}', { data: 'one', client: 7 }],
  ])('%s %s', (type, body, expected) => {
    expect(parsePublication(type, Buffer.from(body))).toEqual(expected);
  });

  test.each([
    '{',
    '[]',
    '"x"',
    '{"data":5}',
    '{"data":"x","client":"seven"}',
    '{"data":"x","client":-1}',
  ])('bad JSON body %s is refused with a reason', (body) => {
    expect(typeof parsePublication('application/json', Buffer.from(body))).toBe('string');
  });
});
