import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * POST /publish, the parts without I/O: who may publish, and what a body means.
 * A body is plain text (pushed as it is), or JSON `{"data": "...", "client": "ID"}`
 * when sent as application/json.
 */
export interface Publication {
  data: string;
  /** One client's id, or undefined for every client. */
  client: number | undefined;
}

/** Compares a request's Authorization header with the token, in constant time. */
export function isAuthorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

export function parsePublication(
  contentType: string | undefined,
  body: Buffer,
): Publication | string {
  if (!/^application\/json\b/i.test(contentType ?? '')) {
    return { data: body.toString('utf8'), client: undefined };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'body is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'body must be a JSON object';
  const { data, client } = parsed as { data?: unknown; client?: unknown };
  if (typeof data !== 'string') return '"data" must be a string';
  if (client === undefined || client === null) return { data, client: undefined };
  const id = typeof client === 'number' ? client : Number(client);
  if (!Number.isInteger(id) || id < 1 || (typeof client === 'string' && !/^\d+$/.test(client))) {
    return '"client" must be a client id';
  }
  return { data, client: id };
}
