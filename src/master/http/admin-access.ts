import type { ServerConfig } from '../../shared/config';
import { RefusalCode } from '../../shared/protocol/reasons';
import { canonicalAddress } from './client-address';
import { isAuthorized } from './publish';
import type { Route } from './router';

/**
 * The admin endpoints (/status lists every client's address; /metrics tells the load):
 * with --admin-token they need `Authorization: Bearer <token>`, compared in constant
 * time; without one they are open, which is worth a warning on a public address.
 */
export function adminOnly(token: string | undefined, route: Route): Route {
  if (token === undefined) return route;
  return {
    methods: route.methods,
    handle(context) {
      if (!isAuthorized(context.req.headers.authorization, token)) {
        return context.refuse({
          status: 401,
          code: RefusalCode.Unauthorized,
          reason: 'This endpoint needs the admin token (Authorization: Bearer)',
          headers: {
            'WWW-Authenticate': 'Bearer realm="push-websocket admin"',
            'Cache-Control': 'no-store',
          },
        });
      }
      return route.handle(context);
    },
  };
}

/** Whether --host only listens on this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  if (host.trim().toLowerCase() === 'localhost') return true;
  const address = canonicalAddress(host);
  if (address === undefined) return false;
  return address === '::1' || /^127\./.test(address);
}

/** The start-up warning when /status would show client addresses to the network; else undefined. */
export function openAdminWarning(
  config: Pick<ServerConfig, 'host' | 'adminToken'>,
): string | undefined {
  if (config.adminToken !== undefined || isLoopbackHost(config.host)) return undefined;
  return (
    `GET /status shows every client's address to anyone who can reach ${config.host}, ` +
    'and /metrics is open too: set --admin-token (PUSH_WS_ADMIN_TOKEN) to require a Bearer token'
  );
}
