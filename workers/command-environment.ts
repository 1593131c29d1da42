import type { WorkerConfig } from '../src/shared/config';
import type { ClientHandoff } from '../src/shared/ipc';
import { passEnvironment } from '../src/shared/pass-environment';
import { cgiEnvironment } from './cgi-environment';

/**
 * The environment of one client's command, as websocketd builds it: the CGI variables of
 * its request (workers/cgi-environment.ts) on top of the server variables --passenv lets
 * through, and nothing else of the server's. The server's variables are this worker's
 * (workers start without the secrets) plus config.commandEnv (what workers start
 * without for their own sake, such as NODE_EXTRA_CA_CERTS), so that a command sees what
 * --passenv names of the server's environment, whatever the worker lacks.
 *
 * With --reverse-lookup it is a promise: REMOTE_HOST waits for the resolver (bounded,
 * falling back to the address). The resolver's module is loaded only then, keeping
 * node:dns off every worker's start-up path.
 */
export function commandEnvironment(
  handoff: ClientHandoff,
  config: WorkerConfig,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv | Promise<NodeJS.ProcessEnv> {
  const passed = passEnvironment({ ...base, ...config.commandEnv }, config.passenv);
  const options = {
    clientId: handoff.id,
    serverSoftware: config.serverSoftware,
    user: handoff.user,
    claims: handoff.claims,
  };
  const build = (remoteHost: string | undefined): NodeJS.ProcessEnv =>
    cgiEnvironment({ ...handoff.request, remoteHost }, passed, options);
  if (!config.reverseLookup) return build(undefined);
  return import('./reverse-lookup')
    .then(({ reverseLookup }) => reverseLookup(handoff.request.remoteAddress))
    .then(build);
}
