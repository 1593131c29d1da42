import { normaliseChannel } from '../../shared/channel-name';
import type { Presence } from '../presence/presence';
import { PresenceUnavailableError } from '../presence/types';
import { RefusalCode } from '../../shared/protocol/reasons';
import type { Route } from './router';

/** The path prefix of GET /presence/CHANNEL. */
export const PRESENCE_PREFIX = '/presence';

/** Seconds a client of GET /presence is told to wait while the store cannot answer. */
const RETRY_AFTER_S = 2;

/**
 * GET /presence/CHANNEL (`/presence/` is the root channel `/`): the channel's clients
 * on every instance, with counts (docs/presence.md). 400 for a bad channel name; 503
 * with the reason when the answer cannot be known now (never stale data).
 */
export function presenceRoute(presence: Presence): Route {
  return {
    methods: ['GET', 'HEAD'],
    async handle({ url, res, refuse }) {
      const rest = url.pathname.slice(PRESENCE_PREFIX.length);
      const named = normaliseChannel(rest === '' ? '/' : rest);
      if (!named.ok) {
        return refuse({
          status: 400,
          code: RefusalCode.BadChannel,
          reason: `Bad channel: ${named.error}`,
        });
      }
      const channel = named.value;
      let body;
      try {
        body = await presence.answer(channel);
      } catch (error) {
        if (!(error instanceof PresenceUnavailableError)) throw error;
        const reason = error.message.charAt(0).toUpperCase() + error.message.slice(1);
        return refuse({
          status: 503,
          code: RefusalCode.PresenceUnavailable,
          reason,
          headers: { 'Retry-After': String(RETRY_AFTER_S), 'Cache-Control': 'no-store' },
        });
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    },
  };
}
