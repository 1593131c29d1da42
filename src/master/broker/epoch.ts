import { randomBytes } from 'node:crypto';

/** A new epoch: 12 hex digits, random, so a lost stream never comes back under its old name. */
export function randomEpoch(): string {
  return randomBytes(6).toString('hex');
}
