import type { Logger } from '../logger';
import type { Publication } from './publish';
import { servePublish } from './publish-endpoint';
import type { Route } from './router';

/** POST /publish (only with --publish-token): a bounded body relayed to clients. */
export function publishRoute(
  token: string,
  maxBytes: number,
  publish: (publication: Publication) => number | undefined,
  logger: Logger,
): Route {
  return {
    methods: ['POST'],
    handle({ req, res, refuse }) {
      servePublish(req, res, { token, maxBytes, reply: refuse, publish, logger });
    },
  };
}
