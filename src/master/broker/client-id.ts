import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Client ids unique across instances: `<instanceId>-<n>`, where n is the instance's own
 * client number. The instance id is everything before the last `-`, so an instance id
 * may itself contain `-` (a host name often does). Pure, apart from defaultInstanceId.
 */

/** An instance id: 1..64 of `A-Z a-z 0-9 . _ -` (safe in a Redis key and a log line). */
export const INSTANCE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function isInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

export function clientIdOf(instanceId: string, client: number): string {
  return `${instanceId}-${client}`;
}

/**
 * A client id's parts: the instance that owns it and that instance's client number;
 * undefined when it is not one.
 */
export function parseClientId(clientId: string): { instance: string; client: number } | undefined {
  const match = /^(.+)-([1-9][0-9]*)$/.exec(clientId);
  if (match === null || !isInstanceId(match[1])) return undefined;
  return { instance: match[1], client: Number(match[2]) };
}

/** The instance that owns a client id, or undefined when it is not one. */
export function instanceOfClientId(clientId: string): string | undefined {
  return parseClientId(clientId)?.instance;
}

/**
 * Host name, pid and a random part: unique even when two instances on one host reuse a
 * pid (containers), and readable in Redis's CLIENT LIST and in logs.
 */
export function defaultInstanceId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 40) || 'host';
  return `${host}.${process.pid}.${randomBytes(3).toString('hex')}`;
}
