import {
  checkUpgradeRequest,
  computeAccept,
  isValidKey,
  upgradeResponse,
  type UpgradeRequest,
} from '../../src/shared/protocol/handshake';
import { refusalBytes } from '../../src/master/http/refusal';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function request(
  headers: Record<string, string>,
  method = 'GET',
  httpVersion = '1.1',
): UpgradeRequest {
  const base: Record<string, string> = {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
  };
  return { method, httpVersion, headers: { ...base, ...headers } };
}

describe('handshake', () => {
  test('the RFC 6455 sample key gives the sample accept value', () => {
    expect(computeAccept(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('a valid request is accepted with the right accept value', () => {
    expect(checkUpgradeRequest(request({}))).toEqual({
      ok: true,
      accept: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    });
  });

  test.each([
    ['odd-case Upgrade value', { upgrade: 'WebSocket' }],
    ['Connection token list', { connection: 'keep-alive, Upgrade' }],
    ['Connection token list, odd case and spaces', { connection: 'keep-alive ,  UPGRADE ' }],
    ['version with spaces', { 'sec-websocket-version': ' 13 ' }],
  ])('accepts %s', (_name, headers) => {
    expect(checkUpgradeRequest(request(headers)).ok).toBe(true);
  });

  test.each([
    ['POST', request({}, 'POST'), 405],
    ['HTTP/1.0', request({}, 'GET', '1.0'), 400],
    ['no Host', request({ host: '' }), 400],
    ['Upgrade not websocket', request({ upgrade: 'h2c' }), 400],
    ['Connection without Upgrade', request({ connection: 'keep-alive' }), 400],
    ['"upgrade" only inside another token', request({ connection: 'upgraded' }), 400],
    ['version 8', request({ 'sec-websocket-version': '8' }), 426],
    ['no version', request({ 'sec-websocket-version': '' }), 426],
    ['no key', request({ 'sec-websocket-key': '' }), 400],
    ['key of 15 bytes', request({ 'sec-websocket-key': Buffer.alloc(15).toString('base64') }), 400],
    ['key of 17 bytes', request({ 'sec-websocket-key': Buffer.alloc(17).toString('base64') }), 400],
    ['key not base64', request({ 'sec-websocket-key': '!!!!!!!!!!!!!!!!!!!!!!==' }), 400],
  ])('rejects %s', (_name, req, status) => {
    const verdict = checkUpgradeRequest(req);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.status).toBe(status);
  });

  test('426 names the version this server speaks', () => {
    const verdict = checkUpgradeRequest(request({ 'sec-websocket-version': '7' }));
    expect(verdict).toMatchObject({ status: 426, headers: { 'Sec-WebSocket-Version': '13' } });
  });

  test('an Origin outside the allowed list gets 403; one inside passes', () => {
    const policy = { allowedOrigins: ['https://ok.example'] };
    expect(checkUpgradeRequest(request({ origin: 'https://evil.example' }), policy)).toMatchObject({
      status: 403,
    });
    expect(checkUpgradeRequest(request({}), policy)).toMatchObject({ status: 403 });
    expect(checkUpgradeRequest(request({ origin: 'https://ok.example' }), policy).ok).toBe(true);
  });

  test('keys are base64 of exactly 16 bytes', () => {
    expect(isValidKey(KEY)).toBe(true);
    expect(isValidKey(undefined)).toBe(false);
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ')).toBe(false);
  });

  test('responses are well-formed HTTP', () => {
    expect(upgradeResponse('abc')).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: abc\r\n\r\n',
    );
    const error = refusalBytes(426, 'Upgrade needed', { 'Sec-WebSocket-Version': '13' });
    expect(error).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
    expect(error).toContain('Content-Length: 15\r\n');
    expect(error).toContain('Sec-WebSocket-Version: 13\r\n');
    expect(error.endsWith('\r\n\r\nUpgrade needed\n')).toBe(true);
  });
});
