import { assertNever } from '../../shared/assert-never';
import type { ClientConnected, ClientEnded } from '../clients/client-lifecycle';

/** Which flag a hook run comes from (the `hook` label of its metric). */
export type HookName = 'connect' | 'disconnect' | 'channel';

/** What a hook is told about. */
export type HookEvent =
  | { event: 'connect'; client: ClientConnected }
  | { event: 'disconnect'; client: ClientEnded }
  | { event: 'occupied' | 'vacated'; channel: string; at: Date };

/** The flag a hook event runs. */
export function hookOf(event: HookEvent): HookName {
  switch (event.event) {
    case 'connect':
      return 'connect';
    case 'disconnect':
      return 'disconnect';
    case 'occupied':
    case 'vacated':
      return 'channel';
    default:
      return assertNever(event, 'hook event');
  }
}

/**
 * A command hook's variables, as CGI names what it can (REMOTE_ADDR, REMOTE_USER) and
 * PUSH_WS_* the rest. No secret is ever among them: the facts are the master's own, and
 * the server's environment reaches the command only through --passenv. Pure.
 */
export function hookEnvironment(hook: HookEvent, instance: string): Record<string, string> {
  const env: Record<string, string> = {
    PUSH_WS_EVENT: hook.event,
    PUSH_WS_INSTANCE: instance,
  };
  if (!('client' in hook)) {
    env.PUSH_WS_CHANNEL = hook.channel;
    env.PUSH_WS_TIME = hook.at.toISOString();
    return env;
  }
  const client = hook.client;
  Object.assign(env, {
    PUSH_WS_CLIENT_ID: client.globalId,
    PUSH_WS_CHANNEL: client.channel,
    PUSH_WS_TRANSPORT: client.transport,
    PUSH_WS_SINCE: client.since.toISOString(),
    REMOTE_ADDR: client.address,
  });
  if (client.user !== undefined) env.REMOTE_USER = client.user;
  if (hook.event === 'disconnect') {
    const ended = hook.client;
    env.PUSH_WS_DURATION_MS = String(ended.durationMs);
    env.PUSH_WS_CLOSE_CODE = String(ended.closeCode);
    env.PUSH_WS_CLOSED_BY = ended.closedBy;
    // Exactly one of them is set, as waitpid(2) tells: an exit code or a signal.
    env.PUSH_WS_EXIT_CODE = ended.exitCode === null ? '' : String(ended.exitCode);
    env.PUSH_WS_EXIT_SIGNAL = ended.exitSignal ?? '';
  }
  return env;
}

/** A URL hook's JSON body (the same facts, snake_case keys). Pure. */
export function hookBody(hook: HookEvent, instance: string): Record<string, unknown> {
  if (!('client' in hook)) {
    return { event: hook.event, instance, channel: hook.channel, time: hook.at.toISOString() };
  }
  const client = hook.client;
  const body: Record<string, unknown> = {
    event: hook.event,
    instance,
    client: client.globalId,
    channel: client.channel,
    user: client.user ?? null,
    remote_addr: client.address,
    transport: client.transport,
    since: client.since.toISOString(),
  };
  if (hook.event === 'disconnect') {
    const ended = hook.client;
    Object.assign(body, {
      duration_ms: ended.durationMs,
      close_code: ended.closeCode,
      closed_by: ended.closedBy,
      exit_code: ended.exitCode,
      exit_signal: ended.exitSignal,
    });
  }
  return body;
}
