import type { ServerConfig } from '../../shared/config';
import { nonNegative } from './usage-error';

/**
 * Client lifetimes' flags (docs/cli.md, docs/operations.md): their yargs options and
 * checks. The worker enforces them (workers/lifetimes.ts).
 */
export const LIFETIME_OPTIONS = {
  'max-lifetime': {
    type: 'number',
    default: 0,
    describe:
      'seconds a client may stay, plus up to 10% jitter; then closed with 4003; 0 = no limit',
  },
  'idle-timeout': {
    type: 'number',
    default: 0,
    describe: 'seconds without a data message either way; then closed with 4004; 0 = no limit',
  },
} as const;

export type LifetimeConfig = Pick<ServerConfig, 'maxLifetime' | 'idleTimeout'>;

export function lifetimeFlags(parsed: {
  'max-lifetime': number;
  'idle-timeout': number;
}): LifetimeConfig {
  return {
    maxLifetime: nonNegative('max-lifetime', parsed['max-lifetime']),
    idleTimeout: nonNegative('idle-timeout', parsed['idle-timeout']),
  };
}
