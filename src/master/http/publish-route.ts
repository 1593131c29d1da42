import type { Publisher } from '../channels/publisher';
import type { Logger } from '../logger';
import { servePublish } from './publish-endpoint';
import type { Route } from './router';

/** POST /publish (only with --publish-token): a bounded body relayed to clients. */
export function publishRoute(
  token: string,
  maxBytes: number,
  publisher: Publisher,
  logger: Logger,
): Route {
  return {
    methods: ['POST'],
    handle({ req, res, refuse, refuseDuringBody, fail }) {
      servePublish(req, res, {
        token,
        maxBytes,
        reply: refuse,
        refuseDuringBody,
        publish: (publication) => publisher.publish(publication),
        fail,
        logger,
      });
    },
  };
}
