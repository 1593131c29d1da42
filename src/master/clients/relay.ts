import type { Publication } from '../http/publish';
import type { Logger } from '../logger';
import type { ClientDirectory } from './client-directory';

/**
 * Hands published messages to the workers of their clients (each writes its own
 * frame). A worker too far behind on its IPC channel gets no more (logged).
 */
export class Relay {
  constructor(
    private readonly directory: ClientDirectory,
    private readonly logger: Logger,
  ) {}

  /** How many clients it was queued for; undefined when the one client named does not exist. */
  publish({ data, client }: Publication): number | undefined {
    const targets =
      client === undefined ? this.directory.workers() : [this.directory.worker(client)];
    if (client !== undefined && targets[0] === undefined) return undefined;
    let queued = 0;
    for (const worker of targets) {
      if (worker === undefined) continue;
      if (worker.sendBounded({ type: 'publish', data })) queued++;
      else {
        this.logger.warn('Publish queue full, message dropped', {
          client: worker.client?.id,
          pid: worker.pid,
        });
      }
    }
    return queued;
  }
}
