import { ClientCgroup } from '../../shared/client-cgroup';
import type { CgroupPlan } from '../../shared/command-sandbox';
import { signalGroup } from '../../shared/process-group';
import type { Logger } from '../observability/logger';
import type { Worker } from './worker';

/**
 * A worker normally ends its --exec command before it exits; one that was killed
 * could not. Each command runs in a process group of its own (its pid is the group
 * id, reported by the worker): when its worker is gone, the whole group is killed.
 */
export class CommandReaper {
  private readonly groups = new Map<Worker, number>();

  constructor(
    private readonly logger: Logger,
    /** Client cgroups (docs/isolation.md): a dead worker's is emptied and removed too. */
    private readonly cgroups?: CgroupPlan,
  ) {}

  started(worker: Worker, pid: number): void {
    this.groups.set(worker, pid);
  }

  workerGone(worker: Worker): void {
    const pid = this.groups.get(worker);
    if (pid === undefined) return;
    this.groups.delete(worker);
    // Normally gone already (the worker removes it); never blocks the master.
    if (this.cgroups !== undefined) void new ClientCgroup(this.cgroups, worker.pid).remove();
    // Already gone, as it should be, unless the worker was killed first.
    if (!signalGroup(pid, 'SIGKILL')) return;
    this.logger.warn(`Killed the command of a dead worker (pid ${pid})`, worker.meta);
  }
}
