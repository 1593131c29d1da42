import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { controlRecord, type ControlLine } from '../../shared/control-channel';
import type { MasterMessage } from '../../shared/ipc';

/**
 * A worker this master adopted in a hot upgrade, seen through its control socket as a
 * forked child is seen through its ChildProcess: `send` writes a worker record, the
 * publish "pipe" (stdio[4]) is the pipe the old master passed over (handed-pipe.ts) or,
 * when it did not, the same socket, `message` events are its JSON lines,
 * `kill` signals its pid, and `exit` comes when the socket closes (the worker's process
 * holds it until it exits). The pool and every part that reads a Worker then serve it
 * as any other.
 *
 * It is not this master's child: its exit code and signal cannot be known (`exit` gives
 * null, null), and its pid is signalled only while its socket is open (the pid cannot
 * have been reused while the process still holds the socket).
 */
export class AdoptedProcess extends EventEmitter {
  /** The publish pipe the old master passed over (handed-pipe.ts), if it did. */
  private pipe: Socket | undefined;
  private released = false;
  private exited = false;

  constructor(
    readonly pid: number,
    private readonly socket: Socket,
  ) {
    super();
    socket.on('close', () => this.gone());
  }

  /** Where the Worker writes published frames: the handed pipe, else the control socket. */
  get stdio(): readonly [null, null, null, null, Socket] {
    return [null, null, null, null, this.pipe ?? this.socket];
  }

  /**
   * Publications go on the worker's own publish pipe, which the old master passed over
   * (the worker reads it for good), rather than the control socket: a later upgrade can
   * pass it on in turn. Set before the Worker is made (it takes stdio[4] once).
   */
  usePipe(pipe: Socket): void {
    this.pipe = pipe;
  }

  /** The publish pipe a later hot upgrade may pass on (none: publications use the socket). */
  handedPipe(): Socket | undefined {
    return this.pipe;
  }

  /** A line the worker wrote after its adopt request (the control server reads them). */
  receive(message: ControlLine): void {
    if (message.type !== 'adopt' && !this.released) this.emit('message', message);
  }

  /**
   * Open while its socket is: released too, since the hand-over's `handover` record goes
   * on it after the release (a second upgrade told no adopted worker to re-attach while
   * this said false once released: 0 of them were adopted).
   */
  get connected(): boolean {
    return !this.socket.destroyed;
  }

  get exitCode(): number | null {
    return null;
  }

  send(
    message: MasterMessage | { type: 'adopted'; master: number },
    callback?: () => void,
  ): boolean {
    if (this.socket.destroyed) return false;
    this.socket.write(controlRecord(message), callback);
    return true;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.socket.destroyed) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The worker was handed over to a newer master: its socket's close is no death, and
   * this master's pool hears no more of it.
   */
  release(): void {
    this.released = true;
  }

  /** A hand-over that did not happen: the worker is this master's again. */
  reclaim(): void {
    this.released = false;
    if (this.socket.destroyed) this.gone();
  }

  private gone(): void {
    if (this.released || this.exited) return;
    this.exited = true;
    this.pipe?.destroy();
    this.emit('disconnect');
    this.emit('exit', null, null);
  }
}
