import {
  cookieValue,
  findToken,
  redactHeaders,
  redactTarget,
  withoutCookie,
  withoutToken,
} from '../../src/master/auth/token-source';

describe('where a token is', () => {
  test('the query first, then Authorization: Bearer, then the named cookie', () => {
    const headers = { authorization: 'Bearer from-header', cookie: 'a=1; session=from-cookie' };
    expect(findToken('/c?token=from-query', headers, 'session')).toEqual({
      token: 'from-query',
      from: 'query',
    });
    expect(findToken('/c', headers, 'session')).toEqual({ token: 'from-header', from: 'header' });
    expect(findToken('/c', { cookie: headers.cookie }, 'session')).toEqual({
      token: 'from-cookie',
      from: 'cookie',
    });
    expect(findToken('/c', { cookie: headers.cookie }, undefined)).toBeUndefined();
    expect(findToken('/c', { authorization: 'Basic dXNlcjpwdw==' }, undefined)).toBeUndefined();
    expect(findToken('/c?token=', {}, undefined)).toBeUndefined();
  });

  test('a percent-encoded name or value is decoded', () => {
    expect(findToken('/c?%74oken=a%2Eb', {}, undefined)).toEqual({ token: 'a.b', from: 'query' });
  });

  test('cookie values: quoted values unquoted, names exact', () => {
    expect(cookieValue('x=1; tok="abc"', 'tok')).toBe('abc');
    expect(cookieValue('xtok=1', 'tok')).toBeUndefined();
    expect(withoutCookie('a=1; tok=secret; b=2', 'tok')).toBe('a=1; b=2');
    expect(withoutCookie('tok=secret', 'tok')).toBeUndefined();
  });
});

describe('keeping a token out of logs and commands', () => {
  test('log lines show the target with every token value redacted', () => {
    expect(redactTarget('/user/42?token=eyJ.x.y&format=json')).toBe(
      '/user/42?token=[redacted]&format=json',
    );
    expect(redactTarget('/c?a=1&%74oken=eyJ&token=two')).toBe(
      '/c?a=1&%74oken=[redacted]&token=[redacted]',
    );
    expect(redactTarget('/c?tokens=1')).toBe('/c?tokens=1');
    expect(redactTarget('/c')).toBe('/c');
  });

  test('a command sees the target without its token parameters', () => {
    expect(withoutToken('/user/42?token=eyJ&format=json')).toBe('/user/42?format=json');
    expect(withoutToken('/user/42?token=eyJ')).toBe('/user/42');
  });

  test('Authorization and Cookie values never reach a log line', () => {
    expect(
      redactHeaders({ authorization: 'Bearer eyJ', cookie: 's=eyJ', host: 'h', Cookie: 'x' }),
    ).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      host: 'h',
      Cookie: '[redacted]',
    });
  });
});
