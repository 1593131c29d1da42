import {
  canonicalHeaderName,
  httpHeaders,
  parseExtraHeaders,
  parseHeaderFlag,
  upgradeHeaders,
} from '../../src/master/http/extra-headers';
import { upgradeResponse } from '../../src/shared/protocol/handshake';

describe('--header, --header-ws, --header-http', () => {
  test('"Name: value" with the name written as websocketd writes it', () => {
    expect(parseHeaderFlag('x-frame-options:   DENY ')).toEqual(['X-Frame-Options', 'DENY']);
    expect(parseHeaderFlag('X-WS: W')).toEqual(['X-Ws', 'W']);
    expect(parseHeaderFlag('Server: push/1: x')).toEqual(['Server', 'push/1: x']);
    expect(canonicalHeaderName('content-security-policy')).toBe('Content-Security-Policy');
  });

  test.each([
    ['no colon', 'X-Frame-Options DENY', /expected "Name: value"/],
    ['a bad name', 'Bad Name: x', /not a header name/],
    ['an empty name', ': x', /not a header name/],
    ['a line break (header smuggling)', 'X-A: a\r\nSet-Cookie: s=1', /line break/],
    ['a NUL', 'X-A: a\0b', /line break or NUL/],
    ['Content-Length', 'Content-Length: 0', /sets this header itself/],
    ['Connection', 'connection: close', /sets this header itself/],
    ['Sec-WebSocket-Accept', 'Sec-WebSocket-Accept: x', /sets this header itself/],
  ])('refuses %s, naming the flag', (_name, text, message) => {
    expect(() => parseHeaderFlag(text, '--header-ws')).toThrow(message);
    expect(() => parseHeaderFlag(text, '--header-ws')).toThrow(/^--header-ws /);
  });

  test('--header goes to both kinds; -ws and -http to their own', () => {
    const extra = parseExtraHeaders({
      header: ['Server: push-websocket'],
      headerWs: ['X-Ws: 1'],
      headerHttp: ['Cache-Control: no-store'],
    });
    expect(upgradeHeaders(extra)).toEqual([
      ['Server', 'push-websocket'],
      ['X-Ws', '1'],
    ]);
    expect(httpHeaders(extra)).toEqual([
      ['Server', 'push-websocket'],
      ['Cache-Control', 'no-store'],
    ]);
  });

  test('the 101 carries them after its own headers', () => {
    expect(upgradeResponse('abc=', [['Server', 'push-websocket']])).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: abc=\r\nServer: push-websocket\r\n\r\n',
    );
  });
});
