import type http from 'node:http';

/** How long a refused request's body may still be read (and dropped) before we close. */
export const DRAIN_MS = 5000;
/** How many bytes of it we read and drop at most before we close. */
export const DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * After a refusal was written to a request whose body is still arriving: lets the
 * client read the answer. Closing a TCP socket with unread input makes the kernel send
 * a reset, and a reset can erase the answer from the client's buffers before it reads
 * it (RFC 9112, section 9.6): a client sending a large chunked body saw its 413 vanish
 * that way. So: our FIN (a half-close: the socket keeps reading), then the rest of the
 * body is read and dropped until it ends, and only then is the socket closed, with
 * nothing left unread. A client that keeps sending is cut off after `DRAIN_MS` or
 * `DRAIN_BYTES`, whichever comes first. (The response is never ended: ending it would
 * make Node close the socket at once, which is the reset this avoids.)
 */
export function drainThenClose(
  req: http.IncomingMessage,
  limits: { ms: number; bytes: number } = { ms: DRAIN_MS, bytes: DRAIN_BYTES },
): void {
  const socket = req.socket;
  socket.end();
  const close = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, limits.ms);
  timer.unref();
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limits.bytes) close();
  });
  req.resume();
  // The body has ended: everything sent was read, so closing sends no reset.
  req.on('end', close);
  req.on('error', close);
  socket.once('close', () => clearTimeout(timer));
}
