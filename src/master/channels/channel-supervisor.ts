/**
 * The process between the master and one --channel-exec command: a small Node process
 * (forked with an IPC channel) that runs the command in a process group of its own and
 * ends that group when the master goes, however it goes. A SIGKILLed master cannot end
 * anything itself, and Linux's PR_SET_PDEATHSIG is not reachable from Node; but the
 * kernel closes the master's end of the IPC channel, and this process sees `disconnect`
 * (as workers do). Then the group gets SIGTERM, and SIGKILL after the grace.
 *
 * The command's stdout and stderr are this process's own, which are pipes to the master:
 * its lines go to the master unchanged, never through this process. Its environment is
 * this process's, which the master built from --passenv alone (no secret reaches it).
 *
 * Messages to the master: {type:"started", pid}, {type:"exit", code, signal} (the
 * command's own exit, before this process exits), {type:"error", message} (it could not
 * be started). From the master: {type:"stop"} (end the group, then exit).
 * Runs only as the entry of a forked process; imported, it only names things.
 */
import { spawn } from 'node:child_process';
import { groupAlive, signalGroup } from '../../shared/process-group';

/** The command's words (JSON), in an environment variable removed before the command starts. */
export const CHANNEL_ARGV_ENV = 'PUSH_WS_CHANNEL_ARGV';
/** The uid and gid (JSON) the command runs as (--exec-user); absent: this process's own. */
export const CHANNEL_USER_ENV = 'PUSH_WS_CHANNEL_USER';
/** Milliseconds between SIGTERM and SIGKILL to the group. */
export const CHANNEL_GRACE_ENV = 'PUSH_WS_CHANNEL_GRACE_MS';

export type SupervisorMessage =
  | { type: 'started'; pid: number }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; message: string };

function tell(message: SupervisorMessage, then?: () => void): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => then?.());
  else then?.();
}

function run(): void {
  const argv = JSON.parse(process.env[CHANNEL_ARGV_ENV] ?? '[]') as string[];
  const graceMs = Number(process.env[CHANNEL_GRACE_ENV] ?? 2000);
  const env = { ...process.env };
  delete env[CHANNEL_ARGV_ENV];
  delete env[CHANNEL_GRACE_ENV];
  delete env[CHANNEL_USER_ENV];
  const user = JSON.parse(process.env[CHANNEL_USER_ENV] ?? '{}') as { uid?: number; gid?: number };
  const child = spawn(argv[0], argv.slice(1), {
    uid: user.uid, // libuv also drops the supplementary groups when it switches
    gid: user.gid,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true, // a process group of its own: its children end with it
    env,
  });
  let ending = false;
  let exited = false;
  child.on('error', (error) =>
    tell({ type: 'error', message: error.message }, () => process.exit(127)),
  );
  child.on('exit', (code, signal) => {
    exited = true;
    if (!ending) tell({ type: 'exit', code, signal }, () => process.exit(0));
  });
  const pid = child.pid;
  if (pid === undefined) return;
  tell({ type: 'started', pid });

  /** Ends the group: SIGTERM, then SIGKILL once the grace has passed; then exits. */
  const end = (): void => {
    if (ending) return;
    ending = true;
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    const poll = setInterval(() => {
      const gone = exited && !groupAlive(pid);
      if (!gone && Date.now() < deadline) return;
      clearInterval(poll);
      if (!gone) signalGroup(pid, 'SIGKILL');
      tell({ type: 'exit', code: child.exitCode, signal: child.signalCode ?? 'SIGKILL' }, () =>
        process.exit(0),
      );
    }, 25);
  };
  process.on('disconnect', end); // the master is gone (SIGKILL included)
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') end();
  });
  process.on('SIGTERM', end);
  // Ctrl-C signals the whole process group; the master decides when the command ends.
  process.on('SIGINT', () => undefined);
}

// Only as the forked entry: the master imports this module for its names alone.
if (require.main === module && process.send !== undefined) run();
