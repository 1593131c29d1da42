import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { ClientHandoff } from '../../shared/ipc';

interface StreamHandle {
  readStop(): number;
}

/** What Node's child_process reads of a socket's server when the socket is sent. */
interface TrackedSocket {
  server: { _connections: number } | null;
}

/**
 * Hazard: Node tracks a socket sent to a child when the socket came from a `net.Server`
 * (`socket.server`): the server polls every such child when it closes
 * (NODE_SOCKET_NOTIFY_CLOSE, one IPC write and one reply per worker ever handed a
 * socket) and the child reports each socket's end. With 1,000 workers, closing the
 * listening socket for a hot upgrade took 3.6-4.2 s of IPC writes to every worker (the
 * strace of the old master), while no one accepted. The server needs none of it (it
 * never asks its connection count): the socket leaves the server here, as Node's own
 * send does for `keepOpen: false` (its count of connections goes down by one), minus
 * the tracking.
 */
function detachFromServer(socket: Socket): void {
  const tracked = socket as unknown as TrackedSocket;
  if (tracked.server === null || tracked.server === undefined) return;
  tracked.server._connections--;
  tracked.server = null;
}

/**
 * Hands a client's socket to its worker, after the 101 has been flushed.
 *
 * Until the child acknowledges the handle, the master's copy of the socket would
 * keep reading, and a client's first frame (an immediate "quit") would be read
 * here and lost. So, in one tick: take what the stream has already buffered, stop
 * the handle itself (socket.pause() does not stop kernel reads), and send those
 * bytes along with the handle. From here on the worker alone reads and writes.
 */
export function handOffSocket(
  child: ChildProcess,
  socket: Socket,
  message: Omit<ClientHandoff, 'head'>,
  head: Buffer,
): Promise<void> {
  const handle = (socket as unknown as { _handle: StreamHandle | null })._handle;
  if (socket.destroyed || handle === null) {
    return Promise.reject(new Error('the client closed its connection before the hand-off'));
  }
  const parts: Buffer[] = [head];
  for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) {
    parts.push(chunk);
  }
  handle.readStop();
  detachFromServer(socket);
  const handoff: ClientHandoff = { ...message, head: Buffer.concat(parts).toString('base64') };
  return new Promise((resolve, reject) => {
    // keepOpen false: once sent, the master's copy of the handle is closed.
    child.send(handoff, socket, { keepOpen: false }, (error) =>
      error ? reject(error) : resolve(),
    );
  });
}
