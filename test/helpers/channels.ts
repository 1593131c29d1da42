import type { ServerProcess } from './server';
import { WsClient } from './ws-client';

export const TOKEN = 'test-publish-token';

/** A JSON frame as ?format=json clients get them. */
export interface JsonFrame {
  type: 'push' | 'pub' | 'direct' | 'recovery' | 'position';
  data?: string;
  channel?: string;
  offset?: number;
  epoch?: string;
  recovered?: boolean;
  count?: number;
  reason?: string;
}

export function frames(client: WsClient): JsonFrame[] {
  return client.messages.map((message) => JSON.parse(message) as JsonFrame);
}

/** The data of every publication a JSON client got, in order. */
export function pubData(client: WsClient): string[] {
  return frames(client)
    .filter((frame) => frame.type === 'pub')
    .map((frame) => frame.data as string);
}

/** Every publication a text client got (the messages that start with `pub:`), in order. */
export function pubTexts(client: WsClient): string[] {
  return client.messages.filter((message) => message.startsWith('pub:'));
}

/** Where a JSON client stands: the last position or publication it was told of. */
export function lastPosition(client: WsClient): { offset: number; epoch: string } {
  const known = frames(client).filter((f) => f.offset !== undefined && f.epoch !== undefined);
  const last = known[known.length - 1];
  if (last === undefined) throw new Error('this client knows no position');
  return { offset: last.offset as number, epoch: last.epoch as string };
}

export interface PublishOptions {
  /** The publish token (default TOKEN). */
  token?: string;
  /** Sent as the Idempotency-Key header. */
  key?: string;
  /** Aborts the request (a bound on a server that does not answer). */
  signal?: AbortSignal;
}

/** POST /publish of `body` as JSON to a server (or any `{ httpUrl }`, an instance's base). */
export function publish(
  server: Pick<ServerProcess, 'httpUrl'>,
  body: unknown,
  options: PublishOptions = {},
): Promise<Response> {
  const { token = TOKEN, key, signal } = options;
  return fetch(`${server.httpUrl}/publish`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      ...(key === undefined ? {} : { 'Idempotency-Key': key }),
    },
    body: JSON.stringify(body),
    signal,
  });
}

/** Publishes and expects a 2xx; returns the JSON answer. */
export async function published(
  server: ServerProcess,
  body: unknown,
): Promise<Record<string, unknown>> {
  const response = await publish(server, body);
  const text = await response.text();
  if (!response.ok) throw new Error(`publish answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Opens a client on a channel (path and query), waiting until its first frame came. */
export async function openOn(server: ServerProcess, pathAndQuery: string): Promise<WsClient> {
  const client = await WsClient.open(`ws://${server.host}:${server.port}${pathAndQuery}`);
  await client.waitForMessages(1);
  return client;
}
