import {
  BrokerDownError,
  BrokerUncertainError,
  IdempotencyKeyReusedError,
  type Broker,
} from '../broker/types';
import { BROADCAST_CHANNEL, normaliseChannel } from '../../shared/channel-name';
import type { ChannelRelay } from './channel-relay';

/**
 * What one publish request asks for: the data and at most one target (none: every
 * client). Built by the HTTP layer (src/master/http/publish.ts) from a body and query.
 */
export interface PublishRequest {
  data: string;
  /** One client's id (a local number, or "<instance>-<n>"), or undefined. */
  client?: string;
  /** One channel (as given: the publisher normalises it), or undefined. */
  channel?: string;
  /** Every connection of one user (a verified identity), on every instance; or undefined. */
  user?: string;
  /** Idempotency-Key header or `idempotency_key`: a retry with it is not published twice. */
  idempotencyKey?: string;
}

/**
 * Why a publication was not made. The HTTP layer maps each kind to a status:
 * bad-channel 400, no-client 404, key-reused 422, backplane-down 503, uncertain 504.
 */
export type PublishFailureKind =
  'bad-channel' | 'no-client' | 'key-reused' | 'backplane-down' | 'uncertain';

/** What became of a publish request; no transport in it. */
export type PublishOutcome =
  | {
      ok: true;
      /** The counts and position to report (the answer's JSON object). */
      body: Record<string, unknown>;
      log: string;
      /** An Idempotency-Key seen before: nothing was published this time. */
      replayed?: true;
      /** Handed to another instance's client: accepted, not yet delivered. */
      forwarded?: true;
    }
  | { ok: false; kind: PublishFailureKind; reason: string };

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

  async publish(publication: PublishRequest): Promise<PublishOutcome> {
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
      if (!normal.ok) {
        return { ok: false, kind: 'bad-channel', reason: `Bad channel: ${normal.error}` };
      }
      channel = normal.value;
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
        replayed: true,
        body: { ...count, ...base, offset, epoch, replayed: true },
        log: `Publication to ${where} not repeated: Idempotency-Key seen (offset ${offset})`,
      };
    }
    const reached = audience;
    if (!this.backplane) {
      return {
        ok: true,
        body: { queued: reached, ...base },
        log: `Published ${bytes} bytes to ${reached} client(s) on ${where}`,
      };
    }
    return {
      ok: true,
      body: { ...base, channel, instance: this.broker.instanceId, instance_clients: reached },
      log: `Published ${bytes} bytes to ${where} (${reached} client(s) here)`,
    };
  }

  private async toClient(id: string, data: string, bytes: number): Promise<PublishOutcome> {
    const local = this.relay.localId(id);
    if (local !== undefined) {
      const feed = this.relay.feedOf(local);
      if (feed === undefined) return { ok: false, kind: 'no-client', reason: `No client #${id}` };
      feed.direct(data);
      return {
        ok: true,
        body: { queued: 1 },
        log: `Published ${bytes} bytes to 1 client(s) (#${local})`,
      };
    }
    if (!this.backplane) return { ok: false, kind: 'no-client', reason: `No client #${id}` };
    const delivered = await this.broker.publishToClient(id, data);
    if (!delivered) return { ok: false, kind: 'no-client', reason: `No instance has client ${id}` };
    return {
      ok: true,
      forwarded: true,
      body: { accepted: true, client: id },
      log: `Published ${bytes} bytes to client ${id} of another instance`,
    };
  }
}

/** A broker's refusal as a failure kind; anything else is a bug (thrown on). */
function refusal(error: unknown): PublishOutcome {
  if (error instanceof BrokerDownError) {
    return { ok: false, kind: 'backplane-down', reason: `Not published: ${error.message}` };
  }
  if (error instanceof BrokerUncertainError) {
    // Not "not published": the outcome is unknown. A retry with the same
    // Idempotency-Key is safe; without one it may publish twice.
    return {
      ok: false,
      kind: 'uncertain',
      reason:
        `Outcome unknown: ${error.message}. ` +
        'Retry with the same Idempotency-Key to publish it exactly once',
    };
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return { ok: false, kind: 'key-reused', reason: `Not published: ${error.message}` };
  }
  throw error;
}
