import { limitOfSignal, type CommandSandbox, type LimitName } from '../src/shared/command-sandbox';
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
    private readonly onHit: () => void = () => undefined,
  ) {}

  start(pid: number): void {
    const nproc = this.sandbox.nproc;
    if (nproc === undefined) return;
    this.timer = setInterval(() => {
      const count = groupMembers(pid);
      if (count <= nproc) return;
      this.stop();
      this.hit = { limit: 'nproc', detail: `${count} processes, over ${nproc}` };
      signalGroup(pid, 'SIGKILL');
      this.onHit();
    }, NPROC_POLL_MS);
    this.timer.unref();
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
    const limit = limitOfSignal(signal, this.sandbox);
    return limit === undefined ? undefined : { limit, detail: `signal ${signal}` };
  }
}
