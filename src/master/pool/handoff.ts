import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { ClientHandoff } from '../../shared/ipc';

interface StreamHandle {
  readStop(): number;
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
  const handoff: ClientHandoff = { ...message, head: Buffer.concat(parts).toString('base64') };
  return new Promise((resolve, reject) => {
    // keepOpen false: once sent, the master's copy of the handle is closed.
    child.send(handoff, socket, { keepOpen: false }, (error) =>
      error ? reject(error) : resolve(),
    );
  });
}
