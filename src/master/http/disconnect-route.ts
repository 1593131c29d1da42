import { BrokerDownError } from '../broker/types';
import type { ClientControl, ClientTarget } from '../clients/client-control';
import type { Logger } from '../observability/logger';
import { readBoundedBody } from './bounded-body';
import { RefusalCode } from '../../shared/protocol/reasons';
import { fail, ok, type Result } from '../../shared/result';
import { badBody, CLIENT_ID, isAuthorized, parseJsonObject, WRONG_PUBLISH_TOKEN } from './publish';
import type { Route } from './router';

/** Seconds a caller is told to wait while the backplane is down. */
const DOWN_RETRY_AFTER_S = 5;

/**
 * The body of POST /disconnect: JSON `{"client": ID}` or `{"user": "42"}`, exactly one.
 * Pure.
 */
export function parseDisconnect(body: Buffer): Result<ClientTarget> {
  const parsed = parseJsonObject(body);
  if (!parsed.ok) return parsed;
  const { client, user } = parsed.value;
  if ((client === undefined) === (user === undefined)) return fail('give "client" or "user"');
  if (client !== undefined) {
    const id = typeof client === 'number' || typeof client === 'string' ? String(client) : '';
    return CLIENT_ID.test(id) ? ok({ client: id }) : fail('"client" must be a client id');
  }
  const name = typeof user === 'number' || typeof user === 'string' ? String(user) : '';
  return name === '' ? fail('"user" must be a non-empty string') : ok({ user: name });
}

/**
 * POST /disconnect (with the publish token): closes a client, or every connection of a
 * user, with close code 4002, on every instance. Answers 200 with `disconnected` (this
 * instance's count; `instance` too with a backplane, whose other instances were told),
 * 202 for a client id of another instance, 404 for a client id no instance can have.
 */
export function disconnectRoute(
  token: string,
  maxBytes: number,
  control: ClientControl,
  logger: Logger,
): Route {
  return {
    methods: ['POST'],
    handle(context) {
      const { req, res, refuse } = context;
      if (!isAuthorized(req.headers.authorization, token)) {
        return refuse(WRONG_PUBLISH_TOKEN);
      }
      readBoundedBody(context, maxBytes, (body) => {
        const parsed = parseDisconnect(body);
        if (!parsed.ok) return refuse(badBody(parsed.error));
        const target = parsed.value;
        control.disconnect(target).then(
          ({ here, others }) => {
            const what =
              'client' in target
                ? `client ${target.client}`
                : `user ${JSON.stringify(target.user)}`;
            if ('client' in target && here === 0 && !others) {
              const reason = `No client #${target.client}`;
              return refuse({ status: 404, code: RefusalCode.NotFound, reason });
            }
            logger.info(
              `POST /disconnect ${what}: ${here} client(s) closed here${others ? '; every other instance told' : ''}`,
            );
            const remoteClient = 'client' in target && here === 0;
            const answer = others
              ? { ...target, disconnected: here, instance: control.instanceId }
              : { ...target, disconnected: here };
            res.writeHead(remoteClient ? 202 : 200, { 'Content-Type': 'application/json' });
            res.end(`${JSON.stringify(remoteClient ? { ...answer, accepted: true } : answer)}\n`);
          },
          (error: unknown) => {
            if (!(error instanceof BrokerDownError)) return context.fail(error);
            refuse({
              status: 503,
              code: RefusalCode.NotDisconnected,
              reason: `Not disconnected: ${error.message}`,
              headers: { 'Retry-After': String(DOWN_RETRY_AFTER_S) },
            });
          },
        );
      });
    },
  };
}
