/**
 * The --redis URL: a single Redis (redis://, rediss://) or a Sentinel group
 * (redis+sentinel://), and what a log line may show of it. A password (and a user name
 * that might be one) never reaches a log: it is replaced by `***`. Pure.
 *
 * The Sentinel form (no WHATWG URL parses a host list, so it is parsed here):
 *
 *   redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTERNAME[/DB]
 *
 * HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT defaults to 26379.
 * The credentials authenticate to the primary and replicas and to the sentinels (a
 * sentinel without a password accepts them). USER, PASSWORD and MASTERNAME are
 * percent-decoded.
 */
import { fail, ok, type Result } from '../../shared/result';

export interface SentinelAddress {
  host: string;
  port: number;
}

/** Where the backplane is, as the broker connects to it. */
export type RedisTarget =
  | { kind: 'direct'; url: string; password: string }
  | {
      kind: 'sentinel';
      sentinels: SentinelAddress[];
      /** The master group's name, as in `sentinel monitor NAME ...`. */
      name: string;
      db: number;
      username: string;
      password: string;
    };

export const SENTINEL_PORT = 26379;
const SENTINEL_FORM =
  'redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/MASTERNAME[/db]';
const DIRECT_FORM = 'redis://[[user]:password@]host[:port][/db]';

/** Parses the URL; the reason when it is not one of the two forms. */
export function parseRedisUrl(url: string): Result<RedisTarget> {
  if (/^redis\+sentinel:/i.test(url)) return parseSentinelUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`not a URL (expected ${DIRECT_FORM} or ${SENTINEL_FORM})`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return fail(
      `scheme must be redis://, rediss:// or redis+sentinel://, not ${parsed.protocol}//`,
    );
  }
  if (parsed.hostname === '') return fail('the URL names no host');
  if (parsed.pathname !== '' && parsed.pathname !== '/' && !/^\/\d+$/.test(parsed.pathname)) {
    return fail('the path must be a database number (redis://host:port/0)');
  }
  return ok({ kind: 'direct', url, password: decoded(parsed.password) ?? parsed.password });
}

/** Checks the URL's form; the reason when it is not a form --redis takes. */
export function checkRedisUrl(url: string): string | undefined {
  const target = parseRedisUrl(url);
  return target.ok ? undefined : target.error;
}

function parseSentinelUrl(url: string): Result<RedisTarget> {
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/@]+)\/([^/]+)(?:\/(\d+))?\/?$/i.exec(url);
  if (match === null) return fail(`expected ${SENTINEL_FORM}`);
  const [, userinfo, hostList, rawName, rawDb] = match;
  let username = '';
  let password = '';
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = decoded(colon === -1 ? userinfo : userinfo.slice(0, colon));
    const secret = decoded(colon === -1 ? '' : userinfo.slice(colon + 1));
    if (user === undefined || secret === undefined)
      return fail('bad percent-encoding in the credentials');
    // `user@` alone, as in redis://, is a password: Redis's AUTH with one argument.
    [username, password] = colon === -1 ? ['', user] : [user, secret];
  }
  const sentinels: SentinelAddress[] = [];
  for (const item of hostList.split(',')) {
    const address = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.\-_]+))(?::(\d{1,5}))?$/.exec(item);
    if (address === null) return fail(`bad sentinel address ${JSON.stringify(item)} (host[:port])`);
    const port = address[3] === undefined ? SENTINEL_PORT : Number(address[3]);
    if (port < 1 || port > 65535) return fail(`bad sentinel port in ${JSON.stringify(item)}`);
    sentinels.push({ host: address[1] ?? address[2], port });
  }
  const name = decoded(rawName);
  if (name === undefined || name === '' || /\s/.test(name)) {
    return fail('the master name must be a word (redis+sentinel://host:26379/mymaster)');
  }
  return ok({ kind: 'sentinel', sentinels, name, db: Number(rawDb ?? 0), username, password });
}

/** The URL with its credentials replaced by `***`, fit for a log line. */
export function redactRedisUrl(url: string): string {
  const read = parseRedisUrl(url);
  if (!read.ok) return '(unparsable redis URL)';
  const target = read.value;
  switch (target.kind) {
    case 'direct': {
      const parsed = new URL(url);
      const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
      const path = parsed.pathname === '/' ? '' : parsed.pathname;
      return `${parsed.protocol}//${auth}${parsed.host}${path}`;
    }
    case 'sentinel': {
      const auth = target.username !== '' || target.password !== '' ? '***@' : '';
      const hosts = target.sentinels
        .map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`)
        .join(',');
      const db = target.db === 0 ? '' : `/${target.db}`;
      return `redis+sentinel://${auth}${hosts}/${encodeURIComponent(target.name)}${db}`;
    }
  }
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
