import type { RequestFacts } from '../src/shared/ipc';
import { splitHostPort } from '../src/shared/host-port';
import { oneLine, SECRET_NAMES } from '../src/shared/pass-environment';
import { percentDecode, splitRequestTarget } from '../src/shared/url-path';

/**
 * An --exec command's environment, as websocketd builds one (libwebsocketd/env.go): the
 * CGI variables of RFC 3875 for the upgrade request, every request header as HTTP_*,
 * and our PUSH_WS_CLIENT_ID, on top of the few server variables --passenv lets through.
 * Pure: facts in, a fresh object out; the worker hands it to spawn as it is.
 *
 * Where we differ from websocketd 0.4.1, on purpose:
 * - A `Proxy` header never becomes HTTP_PROXY (httpoxy: HTTP_PROXY is the outgoing
 *   proxy setting of many HTTP clients, and would let a client redirect the command's
 *   own requests). websocketd passes it.
 * - A header whose name has anything but letters, digits and "-" (e.g. `X_Forwarded_For`)
 *   is dropped, as Apache 2.4 and nginx do: it would share a variable with the dashed
 *   name a trusted proxy sets. websocketd passes it.
 * - HTTP_HOST is set (RFC 3875, Apache); websocketd's Go server keeps Host apart and
 *   sets no HTTP_HOST.
 * - GATEWAY_INTERFACE is "CGI/1.1", as websocketd's newer sources have it (0.4.1 says
 *   "websocketd-CGI/0.1"). No UNIQUE_ID: PUSH_WS_CLIENT_ID is the connection's id.
 * - An inherited variable can never stand in for a request fact: the CGI names are
 *   always set (blank when they do not apply), and inherited HTTP_* names, which would
 *   pass for request headers, are dropped (except HTTP_PROXY, an outgoing setting the
 *   operator may pass on).
 * - With authentication (docs/authentication.md): REMOTE_USER is the verified user, and
 *   PUSH_WS_CLAIMS the verified claims as one JSON object (never the token: the master
 *   took it out of the URL and headers it hands over). Both blank or absent without.
 */
export interface CgiOptions {
  /** The client's id: PUSH_WS_CLIENT_ID. */
  clientId: number;
  /** SERVER_SOFTWARE, e.g. "push-websocket/0.1.0". */
  serverSoftware: string;
  /** The verified user: REMOTE_USER. */
  user?: string;
  /** The verified claims: PUSH_WS_CLAIMS, as JSON. */
  claims?: Record<string, unknown>;
}

/** The verified claims of an authenticated client, as JSON (docs/authentication.md). */
export const CLAIMS_VARIABLE = 'PUSH_WS_CLAIMS';

const GATEWAY_INTERFACE = 'CGI/1.1';

/** CGI names we always set, blank when they do not apply to a WebSocket upgrade. */
const BLANK_CGI_NAMES = [
  'AUTH_TYPE',
  'CONTENT_LENGTH',
  'CONTENT_TYPE',
  'REMOTE_IDENT',
  'REMOTE_USER',
];

/** Set only when true of the request; an inherited one is always removed. */
const CONDITIONAL_CGI_NAMES = ['HTTPS', CLAIMS_VARIABLE];

/** "HTTP_X_FORWARDED_FOR" for "x-forwarded-for"; undefined for names we drop. */
function headerVariable(name: string): string | undefined {
  if (!/^[A-Za-z0-9-]+$/.test(name)) return undefined;
  const variable = `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
  return variable === 'HTTP_PROXY' ? undefined : variable;
}

/**
 * The request's headers as HTTP_* variables: names upper-cased with "-" as "_", a
 * header sent more than once (in any case) joined with ", " in arrival order, as
 * websocketd (and Go's http.Header) joins them.
 */
export function headerVariables(headers: readonly (readonly [string, string])[]): {
  [name: string]: string;
} {
  const values = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const variable = headerVariable(name);
    if (variable === undefined) continue;
    const list = values.get(variable) ?? [];
    list.push(oneLine(value));
    values.set(variable, list);
  }
  const variables: { [name: string]: string } = {};
  for (const [variable, list] of values) variables[variable] = list.join(', ');
  return variables;
}

function firstHeader(
  headers: readonly (readonly [string, string])[],
  name: string,
): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/**
 * SERVER_NAME and SERVER_PORT from the Host header, as websocketd has them (so a
 * command behind a proxy sees the public name and port), the port defaulting to 80
 * (443 over TLS); from the listening address and port when Host is missing or unusable.
 */
function serverNameAndPort(request: RequestFacts, host: string | undefined): [string, string] {
  const parsed = host === undefined ? undefined : splitHostPort(host.trim());
  if (parsed === undefined) return [request.serverName, String(request.serverPort)];
  return [parsed.host, parsed.port ?? (request.https === true ? '443' : '80')];
}

function inherited(passed: { readonly [name: string]: string | undefined }): {
  [name: string]: string;
} {
  const kept: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(passed)) {
    if (value === undefined || SECRET_NAMES.includes(name)) continue;
    if (name.startsWith('HTTP_') && name !== 'HTTP_PROXY') continue;
    if (CONDITIONAL_CGI_NAMES.includes(name)) continue;
    kept[name] = value;
  }
  return kept;
}

/**
 * The whole environment of one client's --exec command. `passed` is what --passenv let
 * through (see passEnvironment); the request's facts override any of it.
 *
 * Paths: with --dir the master gives scriptName and pathInfo; otherwise SCRIPT_NAME is
 * "/" and PATH_INFO the whole decoded path, as websocketd does. PATH_TRANSLATED is the
 * decoded path (websocketd's choice; there is no document root to translate into).
 * A path whose escapes do not decode stays as sent. REQUEST_URI and QUERY_STRING are
 * as sent, undecoded.
 */
export function cgiEnvironment(
  request: RequestFacts,
  passed: { readonly [name: string]: string | undefined },
  options: CgiOptions,
): { [name: string]: string } {
  const { headers } = request;
  const target = splitRequestTarget(request.url);
  const path = percentDecode(target.path) ?? target.path;
  const [serverName, serverPort] = serverNameAndPort(request, firstHeader(headers, 'host'));
  const env: { [name: string]: string } = {
    ...inherited(passed),
    ...headerVariables(headers),
    SERVER_SOFTWARE: options.serverSoftware,
    SERVER_NAME: serverName,
    SERVER_PORT: serverPort,
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
    GATEWAY_INTERFACE,
    REQUEST_METHOD: request.method,
    SCRIPT_NAME: request.scriptName ?? '/',
    PATH_INFO: request.pathInfo ?? path,
    PATH_TRANSLATED: path,
    QUERY_STRING: target.query,
    REQUEST_URI: request.url,
    REMOTE_ADDR: request.remoteAddress,
    REMOTE_HOST: request.remoteHost ?? request.remoteAddress,
    REMOTE_PORT: request.remotePort === undefined ? '' : String(request.remotePort),
    PUSH_WS_CLIENT_ID: String(options.clientId),
  };
  for (const name of BLANK_CGI_NAMES) env[name] = '';
  if (request.https === true) env.HTTPS = 'on';
  if (options.user !== undefined) env.REMOTE_USER = options.user;
  if (options.claims !== undefined) env[CLAIMS_VARIABLE] = JSON.stringify(options.claims);
  for (const [name, value] of Object.entries(env)) env[name] = oneLine(value);
  return env;
}
