import {
  BrokerDownError,
  BrokerUncertainError,
  IdempotencyKeyReusedError,
  type Broker,
} from '../broker/types';
import type { Publication } from '../http/publish';
import { BROADCAST_CHANNEL, normaliseChannel } from '../../shared/channel-name';
import type { ChannelRelay } from './channel-relay';

/** What POST /publish answers. */
export type PublishOutcome =
  | {
      ok: true;
      status: number;
      body: Record<string, unknown>;
      log: string;
      headers?: Record<string, string>;
    }
  | { ok: false; status: number; reason: string; headers?: Record<string, string> };

/** Seconds a publisher is told to wait while the backplane is down. */
const DOWN_RETRY_AFTER_S = 5;
/** Seconds to wait before retrying a publication whose outcome is unknown. */
const UNCERTAIN_RETRY_AFTER_S = 1;

/**
 * POST /publish's decisions: where a publication goes and what the answer may claim.
 * Without a backplane this instance has every client, so `queued` counts them. With
 * Redis it knows only its own: the answer says `instance_clients` (this instance's
 * clients it reached) and never a total.
 */
export class Publisher {
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly relay: ChannelRelay,
  ) {}

  /** Calls back once for each publication accepted (metrics count them). */
  onPublished(listener: () => void): void {
    this.listeners.push(listener);
  }

  private get backplane(): boolean {
    return this.broker.state !== 'off';
  }

  async publish(publication: Publication): Promise<PublishOutcome> {
    const bytes = Buffer.byteLength(publication.data);
    try {
      const outcome =
        publication.client !== undefined
          ? await this.toClient(publication.client, publication.data, bytes)
          : await this.toChannel(
              publication.channel,
              publication.data,
              bytes,
              publication.idempotencyKey,
            );
      if (outcome.ok) for (const listener of this.listeners) listener();
      return outcome;
    } catch (error) {
      return refusal(error);
    }
  }

  private async toChannel(
    given: string | undefined,
    data: string,
    bytes: number,
    idempotencyKey: string | undefined,
  ): Promise<PublishOutcome> {
    let channel = BROADCAST_CHANNEL;
    if (given !== undefined) {
      const normal = normaliseChannel(given);
      if (typeof normal !== 'string') {
        return { ok: false, status: 400, reason: `Bad channel: ${normal.error}` };
      }
      channel = normal;
    }
    const audience = this.relay.audience(channel);
    const options = idempotencyKey === undefined ? {} : { idempotencyKey };
    const { offset, epoch, replayed } = await this.broker.publish(channel, data, options);
    const where = channel === BROADCAST_CHANNEL ? 'every channel' : `channel ${channel}`;
    const base = channel === BROADCAST_CHANNEL ? {} : { channel, offset, epoch };
    if (replayed === true) {
      // The first answer's offset and epoch; nothing was queued this time.
      const count = this.backplane ? { instance_clients: 0 } : { queued: 0 };
      return {
        ok: true,
        status: 200,
        body: { ...count, ...base, offset, epoch, replayed: true },
        headers: { 'Idempotent-Replayed': 'true' },
        log: `Publication to ${where} not repeated: Idempotency-Key seen (offset ${offset})`,
      };
    }
    const reached = audience;
    if (!this.backplane) {
      return {
        ok: true,
        status: 200,
        body: { queued: reached, ...base },
        log: `Published ${bytes} bytes to ${reached} client(s) on ${where}`,
      };
    }
    return {
      ok: true,
      status: 200,
      body: { ...base, channel, instance: this.broker.instanceId, instance_clients: reached },
      log: `Published ${bytes} bytes to ${where} (${reached} client(s) here)`,
    };
  }

  private async toClient(id: string, data: string, bytes: number): Promise<PublishOutcome> {
    const local = this.relay.localId(id);
    if (local !== undefined) {
      const feed = this.relay.feedOf(local);
      if (feed === undefined) return { ok: false, status: 404, reason: `No client #${id}` };
      feed.direct(data);
      return {
        ok: true,
        status: 200,
        body: { queued: 1 },
        log: `Published ${bytes} bytes to 1 client(s) (#${local})`,
      };
    }
    if (!this.backplane) return { ok: false, status: 404, reason: `No client #${id}` };
    const delivered = await this.broker.publishToClient(id, data);
    if (!delivered) return { ok: false, status: 404, reason: `No instance has client ${id}` };
    return {
      ok: true,
      status: 202,
      body: { accepted: true, client: id },
      log: `Published ${bytes} bytes to client ${id} of another instance`,
    };
  }
}

/** A broker's refusal as POST /publish answers it; anything else is a bug (500). */
function refusal(error: unknown): PublishOutcome {
  if (error instanceof BrokerDownError) {
    return {
      ok: false,
      status: 503,
      reason: `Not published: ${error.message}`,
      headers: { 'Retry-After': String(DOWN_RETRY_AFTER_S) },
    };
  }
  if (error instanceof BrokerUncertainError) {
    // 504, not 503: a 503 says "not published", this one cannot. A retry with the
    // same Idempotency-Key is safe; without one it may publish twice.
    return {
      ok: false,
      status: 504,
      reason:
        `Outcome unknown: ${error.message}. ` +
        'Retry with the same Idempotency-Key to publish it exactly once',
      headers: { 'Retry-After': String(UNCERTAIN_RETRY_AFTER_S) },
    };
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return { ok: false, status: 422, reason: `Not published: ${error.message}` };
  }
  throw error;
}
