import type http from 'node:http';
import type { Logger } from '../logger';
import type { PublishOutcome } from '../channels/publisher';
import { isAuthorized, parsePublication, type Publication } from './publish';

export interface PublishEndpointOptions {
  token: string;
  /** Largest body accepted (--max-message-size); larger is 413. */
  maxBytes: number;
  /** Answers with a status, a plain-text reason and a log line. */
  reply(status: number, reason: string, headers?: Record<string, string>): void;
  /** Refuses while the body may still be arriving (its rest is read and dropped). */
  refuseDuringBody(status: number, reason: string): void;
  /** Publishes; the outcome says what to answer. */
  publish(publication: Publication): Promise<PublishOutcome>;
  /** A bug met while publishing: 500 for this request alone. */
  fail(error: unknown): void;
  logger: Logger;
}

/** POST /publish: checks the token, reads a bounded body, relays it, answers JSON. */
export function servePublish(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: PublishEndpointOptions,
): void {
  const { reply, maxBytes } = options;
  if (req.method !== 'POST') return reply(405, 'Method not allowed', { Allow: 'POST' });
  if (!isAuthorized(req.headers.authorization, options.token)) {
    return reply(401, 'Missing or wrong Bearer token', { 'WWW-Authenticate': 'Bearer' });
  }
  let chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  /** The body is (or says it will be) too large: answer now, while it may still arrive. */
  const tooLarge = (): void => {
    refused = true;
    chunks = [];
    options.refuseDuringBody(413, `Body over --max-message-size (${maxBytes} bytes)`);
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
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const publication = parsePublication(req.headers['content-type'], Buffer.concat(chunks), query);
    if (typeof publication === 'string') return reply(400, publication);
    options.publish(publication).then((outcome) => {
      if (!outcome.ok) return reply(outcome.status, outcome.reason, outcome.headers);
      options.logger.info(outcome.log);
      res.writeHead(outcome.status, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify(outcome.body)}\n`);
    }, options.fail);
  });
}
