import type { ServerConfig } from '../../shared/config';
import { parseConnectRate } from '../http/connect-rate';
import { UsageError, wholeNumber } from './usage-error';

/**
 * The per-address limits' flags (docs/cli.md): their yargs options and their checks,
 * apart from cli.ts. A bad value throws UsageError (one line, exit 2).
 */
export const ACCESS_OPTIONS = {
  'max-clients-per-ip': {
    type: 'number',
    default: 0,
    describe: 'clients one address may hold (by --trust-proxy; IPv6 by /64); 0 = no limit',
  },
  'connect-rate': {
    type: 'string',
    default: '0',
    describe: 'RATE[:BURST]: handshakes a second one address may start; 0 = no limit',
  },
} as const;

export type AccessConfig = Pick<ServerConfig, 'maxClientsPerIp' | 'connectRate'>;

export function accessFlags(parsed: {
  'max-clients-per-ip': number;
  'connect-rate': string;
}): AccessConfig {
  const connectRate = parseConnectRate(String(parsed['connect-rate']));
  if (!connectRate.ok) {
    throw new UsageError(
      `--connect-rate ${connectRate.error} (got ${JSON.stringify(parsed['connect-rate'])})`,
    );
  }
  return {
    maxClientsPerIp: wholeNumber('max-clients-per-ip', parsed['max-clients-per-ip'], 0, 1_000_000),
    connectRate: connectRate.value,
  };
}
