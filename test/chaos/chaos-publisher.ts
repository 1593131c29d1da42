import { publish } from '../helpers/channels';
import type { Position } from './chaos-client';

/** An acknowledged publication: the 200's position and what was sent. */
export interface Acked extends Position {
  data: string;
}

export interface PublisherOptions {
  /** Test-unique prefix of every Idempotency-Key (the seed). */
  keyPrefix: string;
  /** An instance's http://host:port to publish to now, or undefined while none is up. */
  pickBase: () => string | undefined;
  /** The pause before the next publication or retry, in ms (seeded by the caller). */
  pauseMs: () => number;
}

/** How long one publication is retried under its key before it is given up. */
const RETRY_BOUND_MS = 15_000;
const REQUEST_BOUND_MS = 10_000;

/**
 * The counting publisher: per channel, publications `CHANNEL#1`, `#2`, ... each sent
 * with an Idempotency-Key. A 503 (not published: Redis away), a 504 (the outcome is
 * unknown: the link broke under the publish) or no answer (an instance restarting)
 * leaves it to be sent again: when the server honours
 * the key, the same publication is retried under the same key until it is acknowledged
 * (the server answers the first outcome, delivered once); when it does not, retrying
 * could publish twice, so the publication is given up and the next one sent.
 */
export class ChaosPublisher {
  /** Per channel, the acknowledged publications by "epoch:offset". */
  readonly acked = new Map<string, Map<string, Acked>>();
  /** Answers by status ("reset" for a request that got none). */
  readonly answers = new Map<string, number>();
  /** What must not happen: a 500, a key answered with two positions, ... */
  readonly problems: string[] = [];
  retries = 0;
  givenUp = 0;
  idempotent = false;
  private readonly byKey = new Map<string, Position>();

  constructor(private readonly options: PublisherOptions) {}

  get ackedCount(): number {
    let count = 0;
    for (const channel of this.acked.values()) count += channel.size;
    return count;
  }

  /**
   * Whether the server honours Idempotency-Key: the same publication sent twice under
   * one key answers one position. Probed on a channel of its own.
   */
  async probe(channel: string): Promise<boolean> {
    const key = `${this.options.keyPrefix}-probe`;
    const first = await this.send(channel, 'probe', key);
    const second = await this.send(channel, 'probe', key);
    if (first.status !== '200' || second.status !== '200') {
      throw new Error(`the probe publish answered ${first.status}, ${second.status}`);
    }
    this.idempotent =
      first.position?.epoch === second.position?.epoch &&
      first.position?.offset === second.position?.offset;
    return this.idempotent;
  }

  /** Publishes to `channel` until `running()` is false; resolves when its last one is done. */
  async run(channel: string, running: () => boolean): Promise<void> {
    for (let n = 1; running(); n++) {
      await this.publishOne(channel, `${channel}#${n}`, `${this.options.keyPrefix}${channel}-${n}`);
      await sleep(this.options.pauseMs());
    }
  }

  /** One publication, retried under its key as long as the key makes that safe. */
  async publishOne(channel: string, data: string, key: string): Promise<Acked | undefined> {
    const deadline = Date.now() + RETRY_BOUND_MS;
    for (;;) {
      const answer = await this.send(channel, data, key);
      this.answers.set(answer.status, (this.answers.get(answer.status) ?? 0) + 1);
      if (answer.status === '200' && answer.position !== undefined) {
        const acked = { ...answer.position, data };
        const before = this.byKey.get(key);
        if (
          before !== undefined &&
          (before.epoch !== acked.epoch || before.offset !== acked.offset)
        ) {
          this.problems.push(
            `key ${key} answered ${JSON.stringify(before)}, then ${JSON.stringify(acked)}`,
          );
        }
        this.byKey.set(key, acked);
        const mine = this.acked.get(channel) ?? new Map<string, Acked>();
        this.acked.set(channel, mine);
        mine.set(`${acked.epoch}:${acked.offset}`, acked);
        return acked;
      }
      // 503: not published; 504: the outcome is unknown; reset: no answer at all.
      if (!['503', '504', 'reset'].includes(answer.status)) {
        this.problems.push(
          `publish ${data} answered ${answer.status}: ${answer.body.slice(0, 200)}`,
        );
        return undefined;
      }
      if (!this.idempotent || Date.now() > deadline) {
        this.givenUp++;
        return undefined;
      }
      this.retries++;
      await sleep(this.options.pauseMs());
    }
  }

  private async send(
    channel: string,
    data: string,
    key: string,
  ): Promise<{ status: string; body: string; position?: Position }> {
    const base = this.options.pickBase();
    if (base === undefined) return { status: 'reset', body: 'no instance up' };
    try {
      const response = await publish(
        { httpUrl: base },
        { channel, data },
        { key, signal: AbortSignal.timeout(REQUEST_BOUND_MS) },
      );
      const body = await response.text();
      if (response.status !== 200) return { status: String(response.status), body };
      const answer = JSON.parse(body) as { epoch?: string; offset?: number };
      if (typeof answer.epoch !== 'string' || typeof answer.offset !== 'number') {
        return { status: '200 without a position', body };
      }
      return { status: '200', body, position: { epoch: answer.epoch, offset: answer.offset } };
    } catch (error) {
      // Refused (an instance restarting) or cut mid-way: no answer, outcome unknown.
      return { status: 'reset', body: String(error) };
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
