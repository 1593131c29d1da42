import net from 'node:net';
import { FrameSplitter, PUBLISH_FD } from '../src/shared/publish-stream';

/**
 * One read's worth: a frame longer than this arrives in several reads, put back together.
 * Small, as each worker keeps it for good (its pages become resident as reads fill them).
 */
const READ_BUFFER_BYTES = 16 * 1024;

/**
 * Starts reading the publish pipe (fd 4): the frames the master wrote for this worker's
 * client, whole, go to `deliver` with their count. Reads land in one buffer, reused (no
 * allocation per read, no stream machinery). Only a worker that serves a client reads
 * it, after its session has started, so that publications come after the client's first
 * frames; the master's wake record (src/shared/publish-stream.ts) is its first read. The
 * pipe never keeps the worker alive, and its end (the master gone) is the IPC channel's
 * business. False when fd 4 is no pipe (a worker forked other than by the pool).
 */
export function readPublishPipe(deliver: (frames: Buffer, count: number) => void): boolean {
  const splitter = new FrameSplitter(deliver);
  // (Node's Socket takes `onread` at construction too; its types list it for connect only.)
  const options: net.SocketConstructorOpts & Pick<net.ConnectOpts, 'onread'> = {
    fd: PUBLISH_FD,
    readable: true,
    writable: false,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      // Always read on (true): a client too slow for what comes is closed, not waited for.
      callback: (length: number, buffer: Uint8Array) => {
        splitter.push(buffer as Buffer, length);
        return true;
      },
    },
  };
  let pipe: net.Socket;
  try {
    pipe = new net.Socket(options);
  } catch {
    return false; // forked without it (not by the pool): no publications, the rest works
  }
  pipe.on('error', () => undefined);
  pipe.unref();
  return true;
}
