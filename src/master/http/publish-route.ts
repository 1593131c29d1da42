import type { Publisher } from '../channels/publisher';
import type { Logger } from '../observability/logger';
import { isAuthorized, parsePublication } from './publish';
import type { RequestContext, Route } from './router';

export interface PublishOptions {
  token: string;
  /** Largest body accepted (--max-message-size); larger is 413. */
  maxBytes: number;
  /** Publishes; the outcome says what to answer. */
  publisher: Publisher;
  logger: Logger;
}

/** POST /publish (only with --publish-token): a bounded body relayed to clients. */
export function publishRoute(
  token: string,
  maxBytes: number,
  publisher: Publisher,
  logger: Logger,
): Route {
  return {
    methods: ['POST'],
    handle(context) {
      servePublish(context, { token, maxBytes, publisher, logger });
    },
  };
}

/**
 * POST /publish: checks the token, reads a bounded body, relays it, answers JSON. The
 * router has answered any other method (405).
 */
export function servePublish(context: RequestContext, options: PublishOptions): void {
  const { req, res, refuse } = context;
  const { maxBytes } = options;
  if (!isAuthorized(req.headers.authorization, options.token)) {
    return refuse(401, 'Missing or wrong Bearer token', { 'WWW-Authenticate': 'Bearer' });
  }
  let chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  /** The body is (or says it will be) too large: answer now, while it may still arrive. */
  const tooLarge = (): void => {
    refused = true;
    chunks = [];
    context.refuseDuringBody(413, `Body over --max-message-size (${maxBytes} bytes)`);
  };
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return tooLarge();
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > maxBytes) return tooLarge();
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    const query = context.url.searchParams;
    const headerKey = req.headers['idempotency-key'];
    const publication = parsePublication(
      req.headers['content-type'],
      Buffer.concat(chunks),
      query,
      Array.isArray(headerKey) ? headerKey.join(', ') : headerKey,
    );
    if (typeof publication === 'string') return refuse(400, publication);
    options.publisher.publish(publication).then((outcome) => {
      if (!outcome.ok) return refuse(outcome.status, outcome.reason, outcome.headers);
      options.logger.info(outcome.log);
      res.writeHead(outcome.status, { 'Content-Type': 'application/json', ...outcome.headers });
      res.end(`${JSON.stringify(outcome.body)}\n`);
    }, context.fail);
  });
}
