import type { Clock } from '../../../src/client/lib/clock';
import type { WebSocketConstructor, WebSocketLike } from '../../../src/client/lib/transport';

/** A fake clock: timers run when the test advances time, in order. */
export class FakeClock implements Clock {
  private time = Date.parse('2026-01-01T00:00:00Z');
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private ids = 0;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  /** Moves time on by `ms`, running each timer due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers
        .filter((timer) => timer.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.callback();
    }
    this.time = end;
  }

  /** Milliseconds until the next timer, or undefined when none is set. */
  nextIn(): number | undefined {
    if (this.timers.length === 0) return undefined;
    return Math.min(...this.timers.map((timer) => timer.at)) - this.time;
  }

  get pending(): number {
    return this.timers.length;
  }
}

/** A fake WebSocket: records what the client does; the test plays the server. */
export class FakeSocket implements WebSocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | undefined;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  static get last(): FakeSocket {
    const last = FakeSocket.made[FakeSocket.made.length - 1];
    if (last === undefined) throw new Error('no socket made');
    return last;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send while not open');
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  // The server's side:
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  frame(value: object | string): void {
    this.onmessage?.({ data: typeof value === 'string' ? value : JSON.stringify(value) });
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export const FakeWebSocket: WebSocketConstructor = FakeSocket;

/** Lets pending promise callbacks run (token functions, the health check). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
