import type { PublishFailureKind, Publisher } from '../channels/publisher';
import { assertNever } from '../../shared/assert-never';
import type { Logger } from '../observability/logger';
import { RefusalCode } from '../../shared/protocol/reasons';
import { badBody, isAuthorized, parsePublication, WRONG_PUBLISH_TOKEN } from './publish';
import type { Refusal } from './refusal';
import type { ClientControl } from '../clients/client-control';
import { BrokerDownError } from '../broker/types';
import { readBoundedBody } from './bounded-body';
import type { RequestContext, Route } from './router';

export interface PublishOptions {
  token: string;
  /** Largest body accepted (--max-message-size); larger is 413. */
  maxBytes: number;
  /** Publishes; the outcome says what to answer. */
  publisher: Publisher;
  logger: Logger;
  /** {"user": ...}: every connection of that user, on every instance. */
  users?: ClientControl;
}

/** POST /publish (only with --publish-token): a bounded body relayed to clients. */
export function publishRoute(
  token: string,
  maxBytes: number,
  publisher: Publisher,
  logger: Logger,
  users?: ClientControl,
): Route {
  return {
    methods: ['POST'],
    handle(context) {
      servePublish(context, { token, maxBytes, publisher, logger, users });
    },
  };
}

/**
 * POST /publish: checks the token, reads a bounded body, relays it, answers JSON. The
 * router has answered any other method (405).
 */
export function servePublish(context: RequestContext, options: PublishOptions): void {
  const { req, res, refuse } = context;
  if (!isAuthorized(req.headers.authorization, options.token)) {
    return refuse(WRONG_PUBLISH_TOKEN);
  }
  readBoundedBody(context, options.maxBytes, (body) => {
    const query = context.url.searchParams;
    const headerKey = req.headers['idempotency-key'];
    const parsed = parsePublication(
      req.headers['content-type'],
      body,
      query,
      Array.isArray(headerKey) ? headerKey.join(', ') : headerKey,
    );
    if (!parsed.ok) return refuse(badBody(parsed.error));
    const publication = parsed.value;
    if (publication.user !== undefined) {
      return void publishToUser(context, options, publication.user, publication.data);
    }
    options.publisher.publish(publication).then((outcome) => {
      if (!outcome.ok) return refuse({ ...refusalOf(outcome.kind), reason: outcome.reason });
      options.logger.info(outcome.log);
      const replayed = outcome.replayed === true ? { 'Idempotent-Replayed': 'true' } : {};
      res.writeHead(outcome.forwarded === true ? 202 : 200, {
        'Content-Type': 'application/json',
        ...replayed,
      });
      res.end(`${JSON.stringify(outcome.body)}\n`);
    }, context.fail);
  });
}

/** Seconds a publisher is told to wait while the backplane is down. */
const DOWN_RETRY_AFTER_S = 5;
/** Seconds to wait before retrying a publication whose outcome is unknown. */
const UNCERTAIN_RETRY_AFTER_S = 1;

/** The status, code (and headers) that answer a publication not made. */
function refusalOf(kind: PublishFailureKind): Omit<Refusal, 'reason'> {
  switch (kind) {
    case 'bad-channel':
      return { status: 400, code: RefusalCode.BadChannel };
    case 'no-client':
      return { status: 404, code: RefusalCode.NotFound };
    case 'key-reused':
      return { status: 422, code: RefusalCode.NotPublished };
    case 'backplane-down':
      return {
        status: 503,
        code: RefusalCode.NotPublished,
        headers: { 'Retry-After': String(DOWN_RETRY_AFTER_S) },
      };
    case 'uncertain':
      // 504, not 503: a 503 says "not published", this one cannot.
      return {
        status: 504,
        code: RefusalCode.ServerError,
        headers: { 'Retry-After': String(UNCERTAIN_RETRY_AFTER_S) },
      };
    default:
      return assertNever(kind);
  }
}

/**
 * {"user": "42", "data": ...}: pushed to that user's connections here at once, and to
 * theirs on every other instance through the broker. The answer counts this
 * instance's: `queued` alone without a backplane (it has every client), else
 * `instance_clients`, as for a channel.
 */
function publishToUser(
  context: RequestContext,
  options: PublishOptions,
  user: string,
  data: string,
): void {
  const { users } = options;
  if (users === undefined) return context.fail(new Error('POST /publish {"user"} without users'));
  users.publishToUser(user, data).then(
    ({ here, others }) => {
      const bytes = Buffer.byteLength(data);
      options.logger.info(
        `Published ${bytes} bytes to user ${JSON.stringify(user)}: ${here} client(s) here${others ? ', and to every other instance' : ''}`,
      );
      const body = others
        ? { user, instance: users.instanceId, instance_clients: here }
        : { user, queued: here };
      context.res.writeHead(200, { 'Content-Type': 'application/json' });
      context.res.end(`${JSON.stringify(body)}\n`);
    },
    (error: unknown) => {
      if (!(error instanceof BrokerDownError)) return context.fail(error);
      context.refuse({
        status: 503,
        code: RefusalCode.NotPublished,
        reason: `Not published: ${error.message}`,
        headers: { 'Retry-After': String(DOWN_RETRY_AFTER_S) },
      });
    },
  );
}
