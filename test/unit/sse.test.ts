import {
  encodeSseEvent,
  httpChunk,
  parseSseEventId,
  sseComment,
  sseEventId,
  sseResponseHead,
  sseRetry,
  wantsEventStream,
} from '../../src/shared/protocol/sse';

/**
 * The event-stream parsing algorithm of the HTML standard (9.2.6), as a browser runs it:
 * what an EventSource would dispatch for the text.
 */
function parseStream(text: string): { id: string; event: string; data: string }[] {
  const events: { id: string; event: string; data: string }[] = [];
  let data = '';
  let event = '';
  let lastId = '';
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data !== '') {
        events.push({ id: lastId, event: event || 'message', data: data.slice(0, -1) });
      }
      data = '';
      event = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) lastId = value;
  }
  return events;
}

describe('encodeSseEvent', () => {
  test('a one-line event carries id, event and data, then a blank line', () => {
    expect(encodeSseEvent({ id: 'e1:7', event: 'pub', data: '{"a":1}' })).toBe(
      'id: e1:7\nevent: pub\ndata: {"a":1}\n\n',
    );
  });

  test.each([
    ['LF', 'one\ntwo\nthree'],
    ['CRLF', 'one\r\ntwo\r\nthree'],
    ['CR', 'one\rtwo\rthree'],
  ])('multi-line data (%s) becomes one data line per line', (_name, data) => {
    const text = encodeSseEvent({ event: 'push', data });
    expect(text).toBe('event: push\ndata: one\ndata: two\ndata: three\n\n');
    expect(parseStream(text)).toEqual([{ id: '', event: 'push', data: 'one\ntwo\nthree' }]);
  });

  test('empty lines, leading spaces and colons in data come back as they were', () => {
    const data = '\n  indented: yes\n\n: not a comment\nlast\n';
    const parsed = parseStream(encodeSseEvent({ event: 'push', data }));
    expect(parsed).toEqual([{ id: '', event: 'push', data }]);
  });

  test('an event without id keeps the last id, as a browser does', () => {
    const text =
      encodeSseEvent({ id: 'e:1', event: 'pub', data: 'a' }) +
      sseComment('keepalive') +
      encodeSseEvent({ event: 'push', data: 'b' });
    expect(parseStream(text)).toEqual([
      { id: 'e:1', event: 'pub', data: 'a' },
      { id: 'e:1', event: 'push', data: 'b' },
    ]);
  });

  test('an id with a line break or NUL is refused', () => {
    expect(() => encodeSseEvent({ id: 'a\nb', event: 'pub', data: '' })).toThrow();
    expect(() => encodeSseEvent({ id: 'a\0b', event: 'pub', data: '' })).toThrow();
  });

  test('comments and retry dispatch nothing', () => {
    expect(sseComment('a\nb')).toBe(': a b\n\n');
    expect(sseRetry(2000)).toBe('retry: 2000\n\n');
    expect(parseStream(sseComment('x') + sseRetry(5))).toEqual([]);
  });
});

describe('event ids', () => {
  test('a position and its id are each other', () => {
    const id = sseEventId({ epoch: 'lq2v3-9a', offset: 42 });
    expect(id).toBe('lq2v3-9a:42');
    expect(parseSseEventId(id)).toEqual({ epoch: 'lq2v3-9a', offset: 42 });
    expect(parseSseEventId(':0')).toEqual({ epoch: '', offset: 0 });
  });

  test.each(['', '42', 'e:', 'e:x', 'e:-1', 'a b:1', 'e:1234567890123456', `${'e'.repeat(65)}:1`])(
    '%j is no id this server sends',
    (id) => {
      expect(parseSseEventId(id)).toHaveProperty('error');
    },
  );
});

describe('wantsEventStream', () => {
  test.each([
    ['text/event-stream', null, true],
    ['text/html, TEXT/Event-Stream;q=0.9', null, true],
    ['*/*', 'sse', true],
    [undefined, 'sse', true],
    ['*/*', null, false],
    [undefined, null, false],
    ['text/event-streamer', 'websocket', false],
    ['text/html,application/xhtml+xml,*/*;q=0.8', 'sse', false],
  ])('Accept %j, transport %j: %s', (accept, transport, wanted) => {
    expect(wantsEventStream(accept, transport)).toBe(wanted);
  });
});

describe('the response', () => {
  test('HTTP/1.1: chunked, no caching, no proxy buffering', () => {
    const head = sseResponseHead({ chunked: true, extra: [['X-A', 'b']] });
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 200 OK',
      'Content-Type: text/event-stream; charset=utf-8',
      'Cache-Control: no-cache',
      'X-Accel-Buffering: no',
      'Connection: keep-alive',
      'Transfer-Encoding: chunked',
      'X-A: b',
      '',
      '',
    ]);
  });

  test('HTTP/1.0: the body ends with the connection', () => {
    const head = sseResponseHead({ chunked: false });
    expect(head).toContain('Connection: close\r\n');
    expect(head).not.toContain('Transfer-Encoding');
  });

  test('a chunk is its length in hex, CRLF, the bytes, CRLF', () => {
    const body = Buffer.from('x'.repeat(300));
    expect(Buffer.concat(httpChunk(body)).toString()).toBe(`12c\r\n${'x'.repeat(300)}\r\n`);
  });
});
