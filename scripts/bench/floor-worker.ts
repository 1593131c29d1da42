/**
 * The floor reference's worker: what a process-per-client Node push server cannot do
 * with less. It reports ready, takes one client's socket from the master, sends a
 * hello and then a push at once and every INTERVAL seconds, writes one frame for each
 * relayed message, and exits when its client says anything (the bench only ever sends
 * "quit") or goes away. No imports beyond Node's own: every module a worker loads is
 * start-up time and memory the floor must not pay.
 */
import type { Socket } from 'node:net';

const interval = Number(process.env.FLOOR_INTERVAL ?? '1');
let client: Socket | undefined;

/** An unmasked server text frame (RFC 6455 5.2). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length = payload.length;
  const head = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x81;
  if (length < 126) head[1] = length;
  else if (length < 65536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, payload]);
}

function serve(socket: Socket, id: number): void {
  client = socket;
  const push = (): void => {
    socket.write(textFrame(`I am waiting ${interval} seconds`));
  };
  socket.write(textFrame(`Connected to worker PID ${process.pid} as client #${id}`));
  push();
  const timer = setInterval(push, interval * 1000);
  // Whatever the client sends ends it: a close frame 1000, then TCP.
  socket.once('data', () => socket.end(Buffer.from([0x88, 2, 0x03, 0xe8])));
  socket.on('error', () => undefined);
  socket.once('close', () => {
    clearInterval(timer);
    process.exit(0);
  });
}

process.on('message', (message: { id?: number; text?: string }, handle?: Socket) => {
  if (handle !== undefined && client === undefined) serve(handle, message.id ?? 0);
  else if (typeof message.text === 'string') client?.write(textFrame(message.text));
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
