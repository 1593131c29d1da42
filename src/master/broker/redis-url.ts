/**
 * The --redis URL: what a log line may show of it. A password (and a user name that
 * might be one) never reaches a log: it is replaced by `***`. Pure.
 */

/** Checks the URL's form; the reason when it is not a redis:// or rediss:// URL. */
export function checkRedisUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL (expected redis://[[user]:password@]host[:port][/db])';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `scheme must be redis:// or rediss://, not ${parsed.protocol}//`;
  }
  if (parsed.hostname === '') return 'the URL names no host';
  if (parsed.pathname !== '' && parsed.pathname !== '/' && !/^\/\d+$/.test(parsed.pathname)) {
    return 'the path must be a database number (redis://host:port/0)';
  }
  return undefined;
}

/** The URL with its credentials replaced by `***`, fit for a log line. */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(unparsable redis URL)';
  }
  const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}
