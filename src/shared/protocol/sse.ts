/**
 * Server-Sent Events (the WHATWG HTML "event stream" format), pure: text in, text out.
 *
 * A stream is UTF-8 lines; an event is `field: value` lines ended by a blank line. We
 * write `id:` (the channel position, `EPOCH:OFFSET`, on positional events only: an
 * event without `id:` leaves the browser's last event id as it was), `event:` (the
 * type, as the JSON frames name it) and `data:` (one line per line of the text: a
 * line break inside a `data:` value would end the field). `retry:` and comments (`:`)
 * stand alone. See docs/sse.md.
 */
import type { StreamPosition } from '../ipc';

/** The event names this server writes (the `type` of the JSON frames). */
export type SseEventName =
  | 'hello'
  | 'pub'
  | 'direct'
  | 'push'
  | 'recovery'
  | 'position'
  | 'gap'
  | 'close'
  | 'binary'
  | 'refused';

export interface SseEvent {
  /** `EPOCH:OFFSET` for an event that moves the client's position; absent otherwise. */
  id?: string;
  event: SseEventName;
  data: string;
}

/** Any line break the event-stream parser knows: CRLF, LF, CR. */
const LINE_BREAK = /\r\n|\r|\n/;

/** One event: `id:`, `event:`, one `data:` line per line of `data`, a blank line. */
export function encodeSseEvent(event: SseEvent): string {
  let text = '';
  if (event.id !== undefined) {
    // A break would end the field; a NUL makes browsers ignore the id (and keep the old).
    if (/[\r\n\0]/.test(event.id)) throw new Error('an SSE id cannot hold a line break or NUL');
    text += `id: ${event.id}\n`;
  }
  text += `event: ${event.event}\n`;
  for (const line of event.data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A comment line (keepalive): ignored by every client, it keeps proxies from timing out. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** How long (ms) a browser waits before it reconnects (its `retry` setting). */
export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

/**
 * The first event of every served stream, before any other: `{"type":"hello","client":ID}`.
 * The response head alone (which fires a browser's `open`) does not say the stream is
 * served: a refusal worth retrying is a 200 stream too (a `refused` event). A client
 * counts its stream as open at this event. No `id:`: it leaves Last-Event-ID as it was.
 */
export function sseHello(clientId: number): string {
  return encodeSseEvent({
    event: 'hello',
    data: JSON.stringify({ type: 'hello', client: clientId }),
  });
}

/** What a refused event-stream request is told, as a stream (see docs/sse.md). */
export interface SseRefusal {
  status: number;
  /** The stable refusal code (src/shared/protocol/reasons.ts). */
  code: string;
  reason: string;
  /** The browser's reconnect delay. */
  retryMs: number;
}

/**
 * `retry:` then one `refused` event: the whole body of a refused stream. The event says
 * the delay too (`retry_ms`): a browser's EventSource keeps `retry:` to itself, and the
 * client library, which reconnects on its own, reads it there.
 */
export function sseRefusalBody(refusal: SseRefusal): string {
  const { status, code, reason, retryMs } = refusal;
  const data = JSON.stringify({ type: 'refused', status, code, reason, retry_ms: retryMs });
  return sseRetry(retryMs) + encodeSseEvent({ event: 'refused', data });
}

/** The event id of a position in a channel's stream: `EPOCH:OFFSET`. */
export function sseEventId(position: StreamPosition): string {
  return `${position.epoch}:${position.offset}`;
}

/** Longest epoch a client may send back (ours are far shorter). */
const MAX_EPOCH_CHARS = 64;

/**
 * A `Last-Event-ID` (header or `?lastEventId=`) read back as a position, or an error.
 * Epochs hold no colon: the offset is after the last one.
 */
export function parseSseEventId(id: string): StreamPosition | { error: string } {
  const colon = id.lastIndexOf(':');
  const epoch = id.slice(0, Math.max(colon, 0));
  const offset = id.slice(colon + 1);
  if (colon < 0 || !/^\d{1,15}$/.test(offset)) {
    return { error: 'Last-Event-ID must be EPOCH:OFFSET, as this server sends' };
  }
  if (epoch.length > MAX_EPOCH_CHARS || !/^[\w.-]*$/.test(epoch)) {
    return { error: 'Last-Event-ID names an epoch this server does not give' };
  }
  return { epoch, offset: Number(offset) };
}

/**
 * Whether a request asks for an event stream: `Accept: text/event-stream` (what
 * EventSource sends), or `?transport=sse` for tools that cannot set a header, unless
 * the request accepts `text/html` (a browser loading the page at `/?transport=sse`,
 * which forces the page itself onto SSE).
 */
export function wantsEventStream(accept: string | undefined, transport: string | null): boolean {
  const types = (accept ?? '').split(',').map((part) => part.split(';', 1)[0].trim().toLowerCase());
  if (types.includes('text/event-stream')) return true;
  return transport === 'sse' && !types.includes('text/html');
}

export interface SseHeadOptions {
  /** HTTP/1.1 request: chunked. HTTP/1.0: the body ends with the connection. */
  chunked: boolean;
  /** Headers after ours (CORS, --header, --header-http). */
  extra?: readonly (readonly [string, string])[];
}

/**
 * The response head of an event stream. Chunked for HTTP/1.1 (a proxy or client tells
 * a clean end from a cut); an HTTP/1.0 client gets the body up to the connection's end.
 */
export function sseResponseHead(options: SseHeadOptions): string {
  const lines = [
    'HTTP/1.1 200 OK',
    'Content-Type: text/event-stream; charset=utf-8',
    'Cache-Control: no-cache',
    // nginx would otherwise hold events in its proxy buffer.
    'X-Accel-Buffering: no',
    options.chunked ? 'Connection: keep-alive' : 'Connection: close',
    ...(options.chunked ? ['Transfer-Encoding: chunked'] : []),
    ...(options.extra ?? []).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** One HTTP/1.1 chunk around `body` (never empty: an empty chunk ends the body). */
export function httpChunk(body: Buffer): Buffer[] {
  return [Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, CRLF];
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** The last chunk: the body ends here. */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
