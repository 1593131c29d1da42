/** A process a test started: it can be stopped, and says when it has exited. */
interface Stoppable {
  readonly exited: Promise<unknown>;
  stop(): Promise<unknown>;
}

/**
 * The processes of one kind a test file started (servers, redis-server, websocketd,
 * nginx), so that its afterAll/afterEach stops whatever is still up, by PID.
 */
export class RunningProcesses<T extends Stoppable> {
  private readonly processes = new Set<T>();

  /**
   * Tracks `process` until it exits, or (`untilStopped`) until stopAll has stopped it:
   * for a process whose stop also cleans up after it.
   */
  add(process: T, untilStopped = false): T {
    this.processes.add(process);
    if (!untilStopped) void process.exited.then(() => this.processes.delete(process));
    return process;
  }

  /** No longer tracks `process` (it was stopped some other way). */
  forget(process: T): void {
    this.processes.delete(process);
  }

  /** Stops every tracked process, all at once. */
  async stopAll(): Promise<void> {
    const processes = [...this.processes];
    this.processes.clear();
    await Promise.all(processes.map((process) => process.stop()));
  }
}
