import { nonNegative } from './usage-error';

/** The graceful drain's flag (docs/cli.md, docs/operations.md#draining). */
export const DRAIN_OPTIONS = {
  'drain-seconds': {
    type: 'number',
    default: 30,
    describe: 'seconds over which a drain (SIGQUIT, POST /drain) closes the clients with 1012',
  },
} as const;

export function drainFlags(parsed: { 'drain-seconds': number }): { drainSeconds: number } {
  return { drainSeconds: nonNegative('drain-seconds', parsed['drain-seconds']) };
}
