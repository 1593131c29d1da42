import { limitOfSignal, type CommandSandbox, type LimitName } from '../src/shared/command-sandbox';
import type { ClientCgroup } from '../src/shared/client-cgroup';
import { groupMembers, signalGroup } from '../src/shared/process-group';

/** How often the process count of a command's group is taken (--exec-limit nproc). */
export const NPROC_POLL_MS = 200;

export interface LimitHit {
  limit: LimitName;
  /** How it was seen, for the log: "SIGXCPU", "23 processes". */
  detail: string;
}

/**
 * The limits of one client's command that this worker itself watches, and the
 * verdict on its exit: which limit, if any, ended it.
 *
 * nproc is per client, which RLIMIT_NPROC is not (it counts every process of a real
 * uid, shared by every client running as --exec-user, and does not bind root at all).
 * Without a pids cgroup it is this bounded watch: every NPROC_POLL_MS the live members
 * of the command's process group are counted in /proc, and past the limit the whole
 * group is killed (SIGKILL). Between two looks a fast fork bomb may overshoot the limit
 * briefly before it is killed; a process that leaves the group (setsid) is not counted.
 */
export class LimitWatch {
  private timer: NodeJS.Timeout | undefined;
  private hit: LimitHit | undefined;

  constructor(
    private readonly sandbox: CommandSandbox,
    /** The client's cgroup, when it has one: its event counters tell the limit hit. */
    private readonly cgroup?: ClientCgroup,
  ) {}

  start(pid: number): void {
    const look = this.looker(pid);
    if (look === undefined) return;
    this.timer = setInterval(() => {
      const hit = look();
      if (hit === undefined) return;
      this.stop();
      this.hit = hit;
      signalGroup(pid, 'SIGKILL');
      void this.cgroup?.remove(); // whatever left the group, too
    }, NPROC_POLL_MS);
    this.timer.unref();
  }

  /**
   * What each look does: read the cgroup's events (a fork refused at pids.max is the
   * process limit: the command is ended, not left to retry), or count the group.
   */
  private looker(pid: number): (() => LimitHit | undefined) | undefined {
    const { cgroup } = this;
    if (cgroup !== undefined) {
      return () => {
        const limit = cgroup.exceeded();
        return limit === undefined ? undefined : { limit, detail: `cgroup ${limit} event` };
      };
    }
    const nproc = this.sandbox.nproc;
    if (nproc === undefined) return undefined;
    return () => {
      const count = groupMembers(pid);
      return count <= nproc
        ? undefined
        : { limit: 'nproc', detail: `${count} processes, over ${nproc}` };
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The limit that ended the command, given how it exited; undefined for any other end.
   * `endedByUs`: the worker was ending it (its client left), so a SIGKILL is ours.
   */
  verdict(signal: NodeJS.Signals | null, endedByUs: boolean): LimitHit | undefined {
    this.stop();
    if (this.hit !== undefined) return this.hit;
    if (endedByUs) return undefined;
    const cgroupLimit = this.cgroup?.exceeded();
    if (cgroupLimit !== undefined)
      return { limit: cgroupLimit, detail: `cgroup ${cgroupLimit} event` };
    const limit = limitOfSignal(signal, this.sandbox);
    return limit === undefined ? undefined : { limit, detail: `signal ${signal}` };
  }
}
