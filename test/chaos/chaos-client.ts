import WebSocket from 'ws';
import { wsText } from '../helpers/ws-text';

/** A channel position, as the JSON frames carry it. */
export interface Position {
  epoch: string;
  offset: number;
}

/** A publication as a client got it. */
export interface Seen extends Position {
  data: string;
}

interface Frame {
  type: string;
  channel?: string;
  epoch?: string;
  offset?: number;
  data?: string;
  recovered?: boolean;
  reason?: string;
  from?: number;
  to?: number;
}

export interface ClientOptions {
  /** Where to connect now (a load balancer's pick), or undefined while none is up. */
  pickBase: () => string | undefined;
  /** A delay before the next attempt, in ms (seeded by the caller). */
  retryDelay: () => number;
  /** Called on every change a waiter may be waiting for. */
  wake: () => void;
}

/** An open slower than this is given up (a loaded 2-core box can take seconds to fork). */
const OPEN_BOUND_MS = 15_000;
/** Frames kept for the report of a problem: what led to it. */
const TRAIL = 8;

/**
 * A JSON client (?format=json) as the README tells one to behave: it keeps the last
 * position it saw (position, recovery, its channel's pub frames) and, whenever its
 * connection ends, comes back with ?since=OFFSET&epoch=EPOCH, to whichever instance is
 * up. It records every publication it got and what broke the README's promise at once
 * (a duplicate, a step back, an epoch change, a refused recovery); what it missed is
 * judged at the end against the acknowledged publications.
 */
export class ChaosClient {
  /** Where it joined the channel (its first position frame). */
  joined: Position | undefined;
  /** The last position it saw. */
  at: Position | undefined;
  readonly seen: Seen[] = [];
  /** Broken promises seen live, one line each. */
  readonly problems: string[] = [];
  /** Offsets skipped without a word (the next pub was further on). */
  readonly skipped: { epoch: string; from: number; to: number }[] = [];
  /** Gap frames: publications the server said would never come. */
  readonly gaps: { epoch: string; from: number; to: number; reason: string }[] = [];
  connects = 0;
  /** Why its last attempt or connection ended (a refusal's status, a close code). */
  lastEnd = '';
  recoveries = 0;
  notRecovered = 0;
  /** The last frames, each with its connection's number and URL query. */
  private readonly trail: string[] = [];
  private ws: WebSocket | undefined;
  private opened = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly channel: string,
    private readonly options: ClientOptions,
  ) {}

  get open(): boolean {
    return this.opened;
  }

  start(): void {
    this.connect();
  }

  /** Drops the connection abruptly (a phone losing its network); it comes back by itself. */
  drop(): boolean {
    if (this.ws === undefined || !this.opened) return false;
    this.ws.terminate();
    return true;
  }

  /** Ends it for good; resolves once its socket has closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.terminate();
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const base = this.options.pickBase();
    if (base === undefined) return this.retry();
    const since = this.at === undefined ? '' : `&since=${this.at.offset}&epoch=${this.at.epoch}`;
    const ws = new WebSocket(`${base}${this.channel}?format=json${since}`);
    this.ws = ws;
    const attempt = `#${this.connects + 1} ${base.replace(/^ws:\/\/127\.0\.0\.1/, '')}${since}`;
    const bound = setTimeout(() => ws.terminate(), OPEN_BOUND_MS);
    ws.on('open', () => {
      clearTimeout(bound);
      this.opened = true;
      this.connects++;
      this.options.wake();
    });
    ws.on('message', (data) => {
      const text = wsText(data);
      this.trail.push(`[${attempt}] ${text.slice(0, 120)}`);
      if (this.trail.length > TRAIL) this.trail.shift();
      this.frame(text);
      this.options.wake();
    });
    // A refused handshake (503 while Redis or an instance is away) or a reset: 'close' follows.
    ws.on('error', (error) => {
      this.lastEnd = error.message;
    });
    ws.on('close', (code, reason) => {
      clearTimeout(bound);
      if (this.opened) this.lastEnd = `closed ${code} ${String(reason)}`;
      this.opened = false;
      if (this.ws === ws) this.ws = undefined;
      this.options.wake();
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.connect(), this.options.retryDelay());
  }

  private problem(text: string): void {
    this.problems.push(`${this.name} ${this.channel}: ${text}; after ${this.trail.join(' | ')}`);
  }

  private frame(text: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      this.problem(`not JSON: ${text.slice(0, 80)}`);
      return;
    }
    const where = (): string => JSON.stringify(this.at);
    switch (frame.type) {
      case 'position':
        if (this.at !== undefined) this.problem(`position frame while at ${where()}: ${text}`);
        else this.joined = this.at = { epoch: String(frame.epoch), offset: Number(frame.offset) };
        return;
      case 'recovery':
        if (frame.recovered === true) {
          this.recoveries++;
          if (frame.epoch !== undefined && frame.epoch !== this.at?.epoch) {
            this.problem(`recovered into another epoch: ${text} while at ${where()}`);
          }
          return;
        }
        this.notRecovered++;
        this.problem(`not recovered at ${where()}: ${text}`);
        if (frame.epoch !== undefined && frame.offset !== undefined) {
          this.at = { epoch: frame.epoch, offset: frame.offset };
        }
        return;
      case 'gap': {
        const gap = {
          epoch: String(frame.epoch),
          from: Number(frame.from),
          to: Number(frame.to),
          reason: String(frame.reason),
        };
        this.gaps.push(gap);
        // The client keeps its place and goes on after the hole.
        if (this.at !== undefined && gap.epoch === this.at.epoch && gap.to > this.at.offset) {
          this.at = { epoch: gap.epoch, offset: gap.to };
        }
        return;
      }
      case 'pub': {
        if (frame.channel !== this.channel) return; // a broadcast: not counted here
        const seen = {
          epoch: String(frame.epoch),
          offset: Number(frame.offset),
          data: String(frame.data),
        };
        this.seen.push(seen);
        const at = this.at;
        if (at === undefined) {
          this.problem(`pub before any position: ${text}`);
        } else if (seen.epoch !== at.epoch) {
          this.problem(`epoch changed from ${where()} to ${seen.epoch}:${seen.offset}`);
        } else if (seen.offset <= at.offset) {
          this.problem(`offset ${seen.offset} again or out of order, after ${at.offset}`);
          return; // its place stays where it was
        } else if (seen.offset > at.offset + 1) {
          this.skipped.push({ epoch: at.epoch, from: at.offset + 1, to: seen.offset - 1 });
        }
        this.at = { epoch: seen.epoch, offset: seen.offset };
        return;
      }
      case 'push':
      case 'direct':
        return;
      default:
        this.problem(`unknown frame: ${text}`);
    }
  }
}
