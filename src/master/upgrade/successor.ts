import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Master } from '../master';
import type { Logger } from '../observability/logger';
import { ControlServer } from './control-server';
import {
  UPGRADE_ENV,
  type MasterState,
  type UpgradeEnv,
  type UpgradeMessage,
} from './master-state';
import { runtimeDirectory } from './runtime-dir';

/** How long the old master may take to hand its state over. */
const STATE_TIMEOUT_MS = 30_000;
/**
 * How long the new master waits for the old master's workers to re-attach: as long as
 * they keep coming (no adoption in ADOPT_STALL_MS ends the wait), and ADOPT_MAX_MS at
 * most. A fixed bound failed at 1,000 workers on a loaded machine, where they came for
 * tens of seconds (issue 23); a stall means those left are stuck or gone.
 */
const ADOPT_STALL_MS = 10_000;
const ADOPT_MAX_MS = 120_000;
/** How often the wait checks whether a worker it waits for has died. */
const ALIVE_CHECK_MS = 1000;
/** How long the control socket stays open for a late worker after that. */
const LATE_WORKER_MS = 10_000;

/**
 * Whether this master is a hot upgrade's new one: the old master's note (and an IPC
 * channel to it). The variable is removed, so that no worker, command or later
 * upgrade inherits it.
 */
export function takeUpgradeEnv(env: NodeJS.ProcessEnv = process.env): UpgradeEnv | undefined {
  const raw = env[UPGRADE_ENV];
  if (raw === undefined) return undefined;
  delete env[UPGRADE_ENV];
  if (process.send === undefined) return undefined;
  const parsed = JSON.parse(raw) as UpgradeEnv;
  if (!Number.isSafeInteger(parsed.fd) || typeof parsed.instanceId !== 'string') return undefined;
  return parsed;
}

/** Writes $RUNTIME_DIRECTORY/master.pid (systemd's PIDFile=), when systemd gave a directory. */
export function writePidFile(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env.RUNTIME_DIRECTORY?.split(':')[0];
  if (dir === undefined || dir === '') return;
  writeFileSync(path.join(dir, 'master.pid'), `${process.pid}\n`);
}

/**
 * A message to the old master, if it is still there. With a callback, a write that fails
 * (the old master gone meanwhile: EPIPE) is no 'error' event, which would end this one.
 */
function send(message: UpgradeMessage): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

/**
 * Tells the old master which workers have re-attached, so that it tells the next ones
 * (it paces them: handover-pacer.ts); those of one turn of the event loop in one message.
 */
class Reattached {
  private pids: number[] = [];

  add(pid: number): void {
    if (this.pids.length === 0) setImmediate(() => this.flush());
    this.pids.push(pid);
  }

  private flush(): void {
    const pids = this.pids;
    this.pids = [];
    send({ type: 'reattached', pids });
  }
}

/**
 * The new master's side of a hot upgrade (docs/upgrade.md): opens the control socket,
 * forks its spares, says ready, takes the old master's state, then listens on the
 * inherited socket; the old master's workers re-attach meanwhile. Resolves with the
 * address once listening; tells the old master when the adoptions are done.
 */
export async function takeOver(
  master: Master,
  upgrade: UpgradeEnv,
  logger: Logger,
): Promise<string> {
  const reattached = new Reattached();
  const control = new ControlServer(runtimeDirectory(), {
    onAdopt: (request, process) => {
      master.adopt(request, process);
      reattached.add(request.pid);
    },
    // Its client reconnects: the hand-over need not wait for it, nor hold its feed;
    // its end is told (hooks, presence) as an adopted client's would be.
    onDrain: (request) => {
      master.drained(request);
      reattached.add(request.pid);
    },
    logger,
  });
  // Publish pipes (handed-pipe.ts) come between `ready` and the state, held unused until
  // the old master's `pipes` (after the state) says which it has finished writing to.
  const pipes = new Map<number, net.Socket>();
  let released: (clients: number[]) => void = () => undefined;
  const pipesReleased = new Promise<number[]>((resolve) => (released = resolve));
  process.on('message', (message: UpgradeMessage, handle: unknown) => {
    if (message.type === 'pipes') {
      released(message.clients);
    } else if (message.type === 'pipe' && handle instanceof net.Socket) {
      // A worker that exits with frames unread in its end resets this one (ECONNRESET):
      // no 'error' listener would make that an uncaught exception.
      handle.on('error', () => undefined);
      pipes.get(message.client)?.destroy();
      pipes.set(message.client, handle);
    }
  });
  // The old master gone: none is released (the workers' fork IPC to it closed too).
  process.once('disconnect', () => released([]));
  await control.listen();
  // Its spares are forked once it listens: forking them now would compete for the CPU
  // with the hand-over, while no connection is accepted.
  const asked = Date.now();
  const state = await new Promise<MasterState>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no state from the old master in ${STATE_TIMEOUT_MS} ms`)),
      STATE_TIMEOUT_MS,
    );
    process.on('message', (message: UpgradeMessage) => {
      if (message.type !== 'state') return;
      clearTimeout(timer);
      resolve(message.state);
    });
    process.once('disconnect', () => {
      clearTimeout(timer);
      reject(new Error('the old master went away before its hand-over'));
    });
    send({ type: 'ready', control: control.path, pipes: true });
  }).catch((error: unknown) => {
    control.close();
    throw error;
  });
  const stateAt = Date.now();
  master.restore(state);
  let passed = 0;
  const takePipes = (clients: number[]): void => {
    for (const client of clients) {
      const pipe = pipes.get(client);
      pipes.delete(client);
      if (pipe !== undefined && master.takePipe(client, pipe)) passed++;
    }
    // Not released (still writing in the old master), or of a client gone meanwhile.
    for (const pipe of pipes.values()) pipe.destroy();
    pipes.clear();
  };
  const address = await master.listenOnFd(upgrade.fd);
  // Only now are the workers told to re-attach: their adoption does not delay the accepts.
  // Not before their pipes are here: a worker adopted first would keep publishing over
  // its control socket, and a later upgrade would have no pipe of it to pass on.
  // The adoptions' wait starts after `listening`: with no worker to adopt it says `adopted`
  // at once, and the old master, gone on that word, must have had `listening` first.
  const listening = (clients: number[]): void => {
    takePipes(clients);
    send({ type: 'listening' });
    void adoptions(master, control, logger, () => passed);
  };
  if (state.pipes === true) {
    void pipesReleased.then(listening);
  } else {
    listening([]);
  }
  logger.info(
    `Hot upgrade from master pid ${upgrade.from}: ${state.clients.length} client(s) to adopt, ` +
      `next client id ${state.nextClientId}; state ${stateAt - asked} ms after asking, ` +
      `listening ${Date.now() - stateAt} ms later`,
  );
  return address;
}

/**
 * Waits (bounded, see ADOPT_STALL_MS) for the old master's workers, then tells the old
 * master it may go. A worker still alive but not yet attached (a loaded machine) keeps
 * its feed, holding what is published for it, until the control socket closes.
 */
async function adoptions(
  master: Master,
  control: ControlServer,
  logger: Logger,
  /** Publish pipes taken over so far (handed-pipe.ts). */
  pipes: () => number,
): Promise<void> {
  const started = Date.now();
  const expected = master.awaited;
  let lastProgress = started;
  let left = expected;
  let checkedAt = started;
  let exited = 0;
  while (master.awaited > 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = Date.now();
    if (now - checkedAt >= ALIVE_CHECK_MS) {
      checkedAt = now;
      exited += master.giveUpAwaited((pid) => !alive(pid)).length;
    }
    if (master.awaited < left) {
      left = master.awaited;
      lastProgress = now;
    }
    if (now - lastProgress >= ADOPT_STALL_MS || now - started >= ADOPT_MAX_MS) break;
  }
  exited += master.giveUpAwaited((pid) => !alive(pid)).length;
  if (exited > 0) {
    logger.warn(`Hot upgrade: ${exited} worker(s) exited before they re-attached`);
  }
  logger.info(
    `Hot upgrade: adopted ${master.adoptedCount} of ${expected} worker(s) in ${Date.now() - started} ms` +
      (master.awaited > 0 ? `, ${master.awaited} still to come` : '') +
      `; publications went on meanwhile through ${pipes()} publish pipe(s) passed over`,
  );
  master.adoptionsDone();
  writePidFile();
  send({ type: 'adopted', adopted: master.adoptedCount, missing: master.awaited });
  setTimeout(() => {
    const late = master.giveUpAwaited(() => true);
    if (late.length > 0) {
      logger.warn(
        `Hot upgrade: ${late.length} worker(s) did not re-attach in time ` +
          `(clients #${late.slice(0, 10).join(', #')})`,
      );
    }
    control.close();
  }, LATE_WORKER_MS).unref();
  // The old master exits now; this one no longer listens to it.
  setTimeout(() => {
    if (process.connected) process.disconnect();
  }, 1000).unref();
}

/** Whether a process is there (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
