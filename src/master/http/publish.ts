import { createHash, timingSafeEqual } from 'node:crypto';
import { checkIdempotencyKey } from '../broker/idempotency';
import type { PublishRequest } from '../channels/publisher';
import { RefusalCode } from '../../shared/protocol/reasons';
import { fail, ok, type Result } from '../../shared/result';
import type { Refusal } from './refusal';

/**
 * POST /publish, the parts without I/O: who may publish, and what a body means.
 * A body is plain text (pushed as it is), or JSON `{"data": "...", "client": "ID"}` or
 * `{"data": "...", "channel": "/news"}` when sent as application/json.
 */
/** A JSON object body, or the reason it is not one (400). */
export function parseJsonObject(body: Buffer): Result<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return fail('body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('body must be a JSON object');
  }
  return ok(parsed as Record<string, unknown>);
}

/** The answer to a POST /publish or /disconnect without the publish token. */
export const WRONG_PUBLISH_TOKEN: Refusal = {
  status: 401,
  code: RefusalCode.Unauthorized,
  reason: 'Missing or wrong Bearer token',
  headers: { 'WWW-Authenticate': 'Bearer' },
};

/** A body that is no request this endpoint takes (400, the reason for the caller). */
export function badBody(reason: string): Refusal {
  return { status: 400, code: RefusalCode.BadRequest, reason };
}

/** Compares a request's Authorization header with the token, in constant time. */
export function isAuthorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

/** A local client number, or "<instance>-<n>" for a client of any instance. */
export const CLIENT_ID = /^(?:[1-9]\d*|[A-Za-z0-9._-]{1,64}-[1-9]\d*)$/;

/**
 * What a body and its query mean. Targets: `client` (one client, by local number or
 * "<instance>-<n>"), `channel` (every client of one channel; also `?channel=` for a
 * text body), or neither (every client).
 */
export function parsePublication(
  contentType: string | undefined,
  body: Buffer,
  query: URLSearchParams = new URLSearchParams(),
  /** The Idempotency-Key header, if any. */
  headerKey?: string,
): Result<PublishRequest> {
  const parsedOk = parseBody(contentType, body, query);
  if (!parsedOk.ok) return parsedOk;
  const parsed = parsedOk.value;
  const { idempotencyKey } = parsed;
  if (headerKey !== undefined && idempotencyKey !== undefined && headerKey !== idempotencyKey) {
    return fail('Idempotency-Key and "idempotency_key" differ');
  }
  const key = headerKey ?? idempotencyKey;
  if (key === undefined) return ok(parsed);
  const problem = checkIdempotencyKey(key);
  if (problem !== undefined) return fail(`Bad Idempotency-Key: ${problem}`);
  if (parsed.client !== undefined || parsed.user !== undefined) {
    return fail(
      'Idempotency-Key is for publications to a channel or to everyone, not to one client or user',
    );
  }
  return ok({ ...parsed, idempotencyKey: key });
}

function parseBody(
  contentType: string | undefined,
  body: Buffer,
  query: URLSearchParams,
): Result<PublishRequest> {
  const queryChannel = query.get('channel') ?? undefined;
  if (!/^application\/json\b/i.test(contentType ?? '')) {
    return target(
      body.toString('utf8'),
      query.get('client') ?? undefined,
      queryChannel,
      query.get('user') ?? undefined,
    );
  }
  const object = parseJsonObject(body);
  if (!object.ok) return object;
  const { data, client, channel, user, idempotency_key: key } = object.value;
  if (user !== undefined && user !== null && typeof user !== 'string' && typeof user !== 'number') {
    return fail('"user" must be a string');
  }
  if (key !== undefined && key !== null && typeof key !== 'string') {
    return fail('"idempotency_key" must be a string');
  }
  if (typeof data !== 'string') return fail('"data" must be a string');
  if (channel !== undefined && channel !== null && typeof channel !== 'string') {
    return fail('"channel" must be a string');
  }
  if (
    client !== undefined &&
    client !== null &&
    typeof client !== 'string' &&
    typeof client !== 'number'
  ) {
    return fail('"client" must be a client id');
  }
  const publication = target(
    data,
    client === undefined || client === null ? undefined : String(client),
    channel ?? queryChannel,
    user === undefined || user === null ? undefined : String(user),
  );
  if (!publication.ok || typeof key !== 'string') return publication;
  return ok({ ...publication.value, idempotencyKey: key });
}

function target(
  data: string,
  client: string | undefined,
  channel: string | undefined,
  user?: string,
): Result<PublishRequest> {
  if (client !== undefined && !CLIENT_ID.test(client)) return fail('"client" must be a client id');
  const given = [client, channel, user].filter((value) => value !== undefined).length;
  if (given > 1) return fail('give one of "client", "channel" or "user"');
  if (user === '') return fail('"user" must not be empty');
  return ok(user === undefined ? { data, client, channel } : { data, user });
}
