import type { FrameFormat, RecoveryNotice, StreamPosition } from '../src/shared/ipc';

/**
 * What a client's text frames say, in its format. Plain text: the message alone, as
 * the original. JSON (?format=json): an object a frame, whose `type` says what it is:
 *   {"type":"push","data":…}        the hello, demo pushes, --exec output
 *   {"type":"recovery","recovered":…,"count":…[,"reason":…],"channel":…,"epoch":…,"offset":…}
 *   {"type":"position","channel":…,"epoch":…,"offset":…}   where a new client starts
 * Publications ("pub", "direct") come framed by the master, in the client's format
 * (src/master/channels/published-frames.ts).
 */
export class FrameText {
  constructor(private readonly format: FrameFormat) {}

  get json(): boolean {
    return this.format === 'json';
  }

  push(text: string): string {
    return this.json ? JSON.stringify({ type: 'push', data: text }) : text;
  }

  /** The first frame of a JSON client: its recovery, or its position (undefined otherwise). */
  opening(
    channel: string,
    position: StreamPosition | undefined,
    recovery: RecoveryNotice | undefined,
  ): string | undefined {
    if (!this.json) return undefined;
    if (recovery !== undefined) {
      const { recovered, count, reason } = recovery;
      const at = position ?? {};
      return JSON.stringify({ type: 'recovery', recovered, count, reason, channel, ...at });
    }
    if (position === undefined) return undefined;
    const { epoch, offset } = position;
    return JSON.stringify({ type: 'position', channel, epoch, offset });
  }
}
