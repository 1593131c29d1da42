import http from 'node:http';
import { HANG_BOUND_MS, waitFor } from './wait';

/** One event as an EventSource dispatches it (lastEventId: the id in force). */
export interface ReadEvent {
  event: string;
  data: string;
  lastEventId: string;
}

/**
 * An event-stream client over real TCP (node's http): reads the response and parses
 * the stream as the HTML standard's algorithm does, keeping the comments and `retry:`.
 */
export class SseClient {
  readonly events: ReadEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  body = '';
  ended = false;
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private lastId = '';
  private request: http.ClientRequest | undefined;
  private response: http.IncomingMessage | undefined;
  /** Told of each event as it is read, and of the end (NodeEventSource). */
  private watcher: { event(event: ReadEvent): void; end(): void } | undefined;

  /** Opens `url`; resolves once the response head has arrived. */
  static open(
    url: string,
    headers: Record<string, string> = {},
    watcher?: SseClient['watcher'],
  ): Promise<SseClient> {
    const client = new SseClient();
    client.watcher = watcher;
    return new Promise((resolve, reject) => {
      const request = http.get(
        url,
        { headers: { Accept: 'text/event-stream', ...headers }, agent: false },
        (response) => {
          client.response = response;
          client.status = response.statusCode ?? 0;
          client.headers = response.headers;
          response.setEncoding('utf8');
          response.on('data', (text: string) => client.take(text));
          for (const event of ['end', 'close', 'error']) response.on(event, () => client.end());
          resolve(client);
        },
      );
      client.request = request;
      request.on('error', reject);
    });
  }

  /** The `data` of every event of a type, parsed as JSON. */
  json<T = Record<string, unknown>>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  /** Waits until an event matches (bounded). */
  async until(
    match: (event: ReadEvent) => boolean,
    what: string,
    timeoutMs = HANG_BOUND_MS,
  ): Promise<ReadEvent> {
    return waitFor(() => this.events.find(match), what, timeoutMs);
  }

  /** Waits for the server to end the response. */
  async untilEnded(timeoutMs = HANG_BOUND_MS): Promise<void> {
    await waitFor(() => this.ended || undefined, 'the end of the stream', timeoutMs);
  }

  /** Stops reading (the kernel's buffers fill, then the server's). */
  pause(): void {
    this.response?.pause();
  }

  /** Closes the connection: how an event-stream client leaves. */
  close(): void {
    this.request?.destroy();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.watcher?.end();
  }

  private take(text: string): void {
    this.body += text;
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(
        this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? end + 2 : end + 1,
      );
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        const event = {
          event: this.event || 'message',
          data: this.data.join('\n'),
          lastEventId: this.lastId,
        };
        this.events.push(event);
        this.watcher?.event(event);
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

/**
 * An EventSource for the client library in Node (which has none), over SseClient: its
 * named events to their listeners, the stream's end or a failed request as `onerror`.
 * No reconnect of its own: the library closes it at any error and decides itself.
 */
export class NodeEventSource {
  readyState = 0;
  onerror: ((event: unknown) => void) | null = null;
  /** Every one made, for a test to close what is left. */
  static readonly made: NodeEventSource[] = [];
  private readonly listeners = new Map<string, ((event: { data: string }) => void)[]>();
  private client: SseClient | undefined;

  constructor(readonly url: string) {
    NodeEventSource.made.push(this);
    SseClient.open(
      url,
      {},
      { event: (event) => this.dispatch(event), end: () => this.fail() },
    ).then(
      (client) => {
        this.client = client;
        if (this.readyState === 2) client.close();
        else this.readyState = 1;
      },
      () => this.fail(),
    );
  }

  addEventListener(type: string, listener: (event: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = 2;
    this.client?.close();
  }

  private dispatch(event: ReadEvent): void {
    if (this.readyState === 2) return;
    for (const listener of this.listeners.get(event.event) ?? []) listener({ data: event.data });
  }

  private fail(): void {
    if (this.readyState !== 2) this.onerror?.({});
  }
}
