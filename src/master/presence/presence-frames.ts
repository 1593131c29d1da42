import type { Broker } from '../broker/types';
import type { ChannelRelay } from '../channels/channel-relay';
import type { ClientConnected, ClientLifecycle } from '../clients/client-lifecycle';

/** A join or leave frame, as JSON clients with ?presence=1 get it. */
export interface PresenceFrame {
  type: 'join' | 'leave';
  channel: string;
  client: string;
  user: string | null;
}

/** The frame's text (one key order, so every instance writes the same bytes). Pure. */
export function presenceFrameText(type: PresenceFrame['type'], client: ClientConnected): string {
  const frame: PresenceFrame = {
    type,
    channel: client.channel,
    client: client.globalId,
    user: client.user ?? null,
  };
  return JSON.stringify(frame);
}

/** A notice from another instance, checked (a different version may send other shapes). */
export function parsePresenceFrame(channel: string, text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const frame = value as Partial<PresenceFrame> | null;
  if (frame === null || typeof frame !== 'object') return undefined;
  if (frame.type !== 'join' && frame.type !== 'leave') return undefined;
  if (frame.channel !== channel || typeof frame.client !== 'string') return undefined;
  return text;
}

/**
 * Join and leave frames (docs/presence.md): each client's `connected` and `ended`
 * become a frame to the JSON clients of its channel that asked for them (?presence=1),
 * here at once and on every other instance through the broker's notices. They carry no
 * offset and are not kept in history: a client that reconnects gets none of those it
 * missed (GET /presence tells who is there). A notice lost to a Redis fault is logged
 * and not resent.
 */
export class PresenceFrames {
  constructor(
    private readonly relay: ChannelRelay,
    private readonly broker: Broker,
    private readonly debug: (line: string) => void,
  ) {}

  listen(lifecycle: ClientLifecycle): void {
    lifecycle.on('connected', (client) =>
      this.tell(client.channel, presenceFrameText('join', client)),
    );
    lifecycle.on('ended', (client) =>
      this.tell(client.channel, presenceFrameText('leave', client)),
    );
    this.broker.on('notice', (channel, data) => {
      const text = parsePresenceFrame(channel, data);
      if (text !== undefined) this.relay.notice(channel, text);
    });
  }

  private tell(channel: string, text: string): void {
    this.relay.notice(channel, text);
    if (this.broker.state === 'off') return;
    this.broker.notify(channel, text).catch((error: Error) => {
      this.debug(`Presence frame for ${channel} not sent to the other instances: ${error.message}`);
    });
  }
}
