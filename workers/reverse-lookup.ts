import { lookupService } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Resolves an address to a host name, as getnameinfo(3) does it (/etc/hosts, then DNS). */
export type NameLookup = (address: string, port: number) => Promise<{ hostname: string }>;

/**
 * --reverse-lookup: the client's host name for REMOTE_HOST, as websocketd's
 * --reverselookup gives it. The system resolver is used (getnameinfo, like Go's
 * LookupAddr it reads /etc/hosts first), not a DNS-only query. Any failure, or no answer
 * within `timeoutMs`, gives the address itself, as websocketd falls back: a slow
 * resolver delays a command's start by at most that much.
 */
export async function reverseLookup(
  address: string,
  timeoutMs = 2000,
  lookup: NameLookup = lookupService,
): Promise<string> {
  if (isIP(address) === 0) return address;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(address), timeoutMs);
  });
  const answer = Promise.resolve()
    .then(() => lookup(address, 0))
    .then(
      ({ hostname }) => (hostname === '' ? address : hostname),
      () => address,
    );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
