/**
 * --passenv: which of the server's own variables an --exec (or --dir) command may see,
 * as websocketd's flag of that name. Everything else is cleaned out, so a command never
 * sees the server's secrets or settings by accident. Pure; shared by the CLI (the flag)
 * and the worker (the command's environment).
 */
import { commaList } from './config';

/** Names a command must never see from the server's environment (secrets). */
export const SECRET_NAMES: readonly string[] = [
  'PUSH_WS_PUBLISH_TOKEN',
  'PUSH_WS_ADMIN_TOKEN',
  'PUSH_WS_REDIS',
];

/**
 * --passenv's default: what a command needs to find programs, speak the locale (UTF-8
 * lines), tell the time and find its home. websocketd's default is PATH,LD_LIBRARY_PATH;
 * LD_LIBRARY_PATH changes which code a command loads, so it passes only when named.
 */
export const DEFAULT_PASSENV: readonly string[] = ['PATH', 'LANG', 'LC_*', 'TZ', 'HOME'];

/** A variable name, or a prefix pattern ending in "*" ("LC_*"). */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*\*?$|^\*$/;

/**
 * The flag's text as names: comma-separated as websocketd takes it, blanks dropped (so
 * `--passenv ''` passes nothing). Throws an Error naming the first entry that is not a
 * variable name or a "PREFIX*" pattern.
 */
export function parsePassenv(text: string): string[] {
  const names = commaList([text]);
  const bad = names.find((name) => !NAME.test(name));
  if (bad !== undefined) {
    throw new Error(`"${bad}" is not a variable name (or a PREFIX* pattern)`);
  }
  return names;
}

/** A header value or inherited value on one line, as websocketd cleans them. */
export function oneLine(value: string): string {
  return value.replace(/[\r\n\0]/g, ' ').trim();
}

/**
 * The server variables a command may see: those named in `names` (a trailing "*" is a
 * prefix pattern: "LC_*"), as websocketd's --passenv, everything else cleaned out.
 * Never the secrets (SECRET_NAMES) even when listed, never HTTPS (a request fact), and
 * a pattern never matches a PUSH_WS_ name: only an exact name passes one of those.
 * Values are put on one line and trimmed; empty ones are left out (as websocketd).
 */
export function passEnvironment(
  env: { readonly [name: string]: string | undefined },
  names: readonly string[],
): { [name: string]: string } {
  const exact = new Set(names.filter((name) => !name.endsWith('*')));
  const prefixes = names.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
  const passed: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || SECRET_NAMES.includes(name) || name === 'HTTPS') continue;
    const listed =
      exact.has(name) ||
      (!name.startsWith('PUSH_WS_') && prefixes.some((prefix) => name.startsWith(prefix)));
    if (!listed) continue;
    const clean = oneLine(value);
    if (clean !== '') passed[name] = clean;
  }
  return passed;
}
