import { RefusalCode } from '../../shared/protocol/reasons';
import { grantsOf, userOf, type Identity } from './identity';

/**
 * --auth-url: the app decides who connects, for apps that keep their sessions in
 * cookies. Before the handshake the master POSTs the connection's facts as JSON:
 *
 *   {"path": "/user/42?x=1", "channel": "/user/42", "cookie": "...", "authorization":
 *    "...", "origin": "...", "user_agent": "...", "remote_addr": "203.0.113.7"}
 *
 * (a header the request lacks is null; `path` without its `token` parameter). The answer:
 * - 200 with {"user": "42", "channels": ["/user/42"], "expire_at": 1767225600}: admitted
 *   as that user, the private channels `channels` matches allowed, closed with 4001 when
 *   `expire_at` (Unix seconds, optional) passes;
 * - 401 or 403: refused with that status;
 * - anything else, a body that is not such JSON, no answer within --auth-timeout, or a
 *   network error: the backend is failing, the client gets 503 with Retry-After.
 */
export interface HookRequest {
  path: string;
  channel: string;
  cookie: string | null;
  authorization: string | null;
  origin: string | null;
  user_agent: string | null;
  remote_addr: string;
}

export type HookVerdict =
  | { kind: 'admit'; identity: Identity }
  | {
      kind: 'refuse';
      status: 401 | 403;
      code:
        | typeof RefusalCode.Unauthorized
        | typeof RefusalCode.Forbidden
        | typeof RefusalCode.TokenExpired;
      reason: string;
    }
  /** The backend failed: `detail` is for the log line (the client sees only 503). */
  | { kind: 'failed'; detail: string };

/** Most bytes of an answer read (a session check answers in far fewer). */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** The verdict of an answer: pure (status and body in). */
export function hookVerdict(status: number, body: string, now = Date.now()): HookVerdict {
  if (status === 401) {
    const reason = 'not authenticated (auth backend)';
    return { kind: 'refuse', status, code: RefusalCode.Unauthorized, reason };
  }
  if (status === 403) {
    const reason = 'forbidden (auth backend)';
    return { kind: 'refuse', status, code: RefusalCode.Forbidden, reason };
  }
  if (status !== 200) return { kind: 'failed', detail: `answered ${status}` };
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return { kind: 'failed', detail: 'answered 200 without a JSON body' };
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    return { kind: 'failed', detail: 'answered 200 without a JSON object' };
  }
  const fields = answer as Record<string, unknown>;
  const user = userOf(fields.user);
  if (user === undefined) return { kind: 'failed', detail: 'answered 200 without a "user"' };
  const grants = grantsOf(fields.channels);
  if (!grants.ok) return { kind: 'failed', detail: `answered 200: ${grants.error}` };
  const expireAt = fields.expire_at;
  if (expireAt !== undefined && expireAt !== null && typeof expireAt !== 'number') {
    return { kind: 'failed', detail: 'answered 200: expire_at must be Unix seconds' };
  }
  const expiresAt = typeof expireAt === 'number' ? Math.round(expireAt * 1000) : undefined;
  if (expiresAt !== undefined && expiresAt <= now) {
    const reason = 'token expired (auth backend)';
    return { kind: 'refuse', status: 401, code: RefusalCode.TokenExpired, reason };
  }
  return { kind: 'admit', identity: { user, claims: fields, grants: grants.value, expiresAt } };
}

/** Reads at most `limit` bytes of a body; more is a failure (undefined). */
async function boundedText(response: Response, limit: number): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The HTTP side: one POST per connection, bounded in time and size. */
export class AuthHook {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async ask(request: HookRequest): Promise<HookVerdict> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(request),
        redirect: 'manual',
        signal,
      });
      const body = await boundedText(response, MAX_ANSWER_BYTES);
      if (body === undefined) {
        return { kind: 'failed', detail: `answered more than ${MAX_ANSWER_BYTES} bytes` };
      }
      return hookVerdict(response.status, body);
    } catch (error) {
      if (signal.aborted) {
        return { kind: 'failed', detail: `no answer within ${this.timeoutMs} ms` };
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'failed', detail: cause?.code ?? cause?.message ?? (error as Error).message };
    }
  }
}
