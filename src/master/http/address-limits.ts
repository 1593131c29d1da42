import { isIP } from 'node:net';
import type { ClientDirectory } from '../clients/client-directory';
import { BurstLog } from './burst-log';
import { canonicalAddress } from './client-address';
import { ConnectRateTable, type ConnectRate } from './connect-rate';
import { RefusalCode } from '../../shared/protocol/reasons';
import type { RefusalHeaders } from './refusal';

/** Seconds a client over --max-clients-per-ip is told to wait: a place frees when one of its clients leaves. */
const PER_IP_RETRY_AFTER_S = 5;
/** One summary line per address per this many ms while its refusals go on. */
const BURST_LOG_MS = 10_000;

export interface AddressLimitOptions {
  /** --max-clients-per-ip (0: off); counted by the directory. */
  maxPerAddress: number;
  /** --connect-rate; undefined: off. */
  connectRate: ConnectRate | undefined;
}

export interface AddressRefusal {
  status: 429;
  code: typeof RefusalCode.RateLimited;
  reason: string;
  headers: RefusalHeaders;
}

/**
 * The key an address is limited under: an IPv4 address as it is; an IPv6 address by its
 * /64, the block one subscriber line or host gets (a single host can use any address of
 * its /64, so counting single IPv6 addresses would limit nobody).
 */
export function addressKey(address: string): string {
  const canonical = canonicalAddress(address) ?? address;
  if (isIP(canonical) !== 6) return canonical;
  const [head, tail = ''] = canonical.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = canonical.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Per-address limits on WebSocket clients, before the handshake: --connect-rate (a token
 * bucket per address, see connect-rate.ts) and --max-clients-per-ip (clients and
 * handshakes in flight per address, held by the ClientDirectory). The address is the
 * one --trust-proxy resolves. A refusal is 429 with Retry-After; its log line is written
 * here, once per burst per address (BurstLog), so the caller refuses without a line.
 */
export class AddressLimits {
  private rates: ConnectRateTable | undefined;
  private readonly log: BurstLog;

  constructor(
    private options: AddressLimitOptions,
    private readonly directory: ClientDirectory,
    warn: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.rates =
      options.connectRate === undefined
        ? undefined
        : new ConnectRateTable(options.connectRate, now);
    this.log = new BurstLog(
      BURST_LOG_MS,
      warn,
      (count) => `429: ${count} more handshake(s) refused from further addresses (address limits)`,
    );
  }

  /**
   * The limits changed while running (SIGHUP; the directory holds --max-clients-per-ip
   * itself). A changed --connect-rate starts every address with a full bucket.
   */
  setOptions(options: AddressLimitOptions): void {
    const rate = JSON.stringify(options.connectRate);
    if (rate !== JSON.stringify(this.options.connectRate)) {
      this.rates =
        options.connectRate === undefined
          ? undefined
          : new ConnectRateTable(options.connectRate, this.now);
    }
    this.options = options;
  }

  /** A new handshake from `address`: refused when over its --connect-rate. */
  rate(address: string, describe: string): AddressRefusal | undefined {
    if (this.rates === undefined) return undefined;
    const key = addressKey(address);
    const verdict = this.rates.take(key);
    if (verdict.ok) return undefined;
    const { rate, burst } = this.options.connectRate as ConnectRate;
    const limit = `--connect-rate ${rate}/s:${burst}`;
    this.log.event(`rate ${key}`, {
      first: `429 for ${describe}: over ${limit} from ${key}`,
      more: (count) =>
        `429 for ${key}: ${count} more handshake(s) over ${limit} in ${BURST_LOG_MS / 1000} s`,
    });
    return refusal('Too many connections from your address, try again later', verdict.retryAfterS);
  }

  /**
   * `address` holds --max-clients-per-ip places: the handshake is refused. Call just
   * before directory.reserve(addressKey(address)), with nothing awaited between.
   */
  perAddress(address: string, describe: string): AddressRefusal | undefined {
    const key = addressKey(address);
    if (!this.directory.addressFull(key)) return undefined;
    const limit = `--max-clients-per-ip ${this.options.maxPerAddress}`;
    this.log.event(`clients ${key}`, {
      first: `429 for ${describe}: ${key} holds ${limit} clients already`,
      more: (count) =>
        `429 for ${key}: ${count} more handshake(s) over ${limit} in ${BURST_LOG_MS / 1000} s`,
    });
    return refusal('Too many clients from your address', PER_IP_RETRY_AFTER_S);
  }
}

function refusal(reason: string, retryAfterS: number): AddressRefusal {
  const headers = { 'Retry-After': String(retryAfterS) };
  return { status: 429, code: RefusalCode.RateLimited, reason, headers };
}
