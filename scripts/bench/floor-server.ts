/**
 * The floor reference: a minimal fork-per-client push server, what this design costs
 * with nothing of ours in it. On each upgrade it forks scripts/bench/floor-worker.js,
 * waits for its ready message, sends the 101 and hands the socket over with the same
 * read-stop as src/master/pool/handoff.ts. No spares, no bound on start-ups, no
 * checks beyond a key, no logging. Workers run without NODE_EXTRA_CA_CERTS (they do
 * no TLS) and with the Node flags given in FLOOR_NODE_FLAGS (space separated).
 *
 * POST /publish relays its body as one IPC message per worker (each worker writes one
 * frame): the naive relay the fan-out figures are compared with. Answers {"queued": N}.
 *
 * Usage: node floor-server.js --port PORT [--interval SECONDS] [--max-starting N] [--nice N]
 * (port 0: any free port; --max-starting: workers starting at once, others wait their
 * turn, as our pool does with one per core; default: no bound; --nice: workers' niceness,
 * as ours run at 5; default 0)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { numberArg } from '../lib/args';
import { referencePublish } from './reference-publish';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    interval: { type: 'string', default: '1' },
    'max-starting': { type: 'string', default: '0' },
    nice: { type: 'string', default: '0' },
  },
});
const port = numberArg('port', args.port, { min: 0, max: 65535 });
const interval = numberArg('interval', args.interval, { min: 0 });
const maxStarting = numberArg('max-starting', args['max-starting'], { min: 0 }) || Infinity;
const nice = numberArg('nice', args.nice, { min: 0, max: 19 });
let starting = 0;
/** Upgrades waiting for a start-up slot (only with --max-starting). */
const waiting: (() => void)[] = [];
/** FLOOR_WORKER_ENTRY replaces the worker (the memory probe, worker-probe.ts). */
const WORKER = process.env.FLOOR_WORKER_ENTRY || path.join(__dirname, 'floor-worker.js');
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const flags = (process.env.FLOOR_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
const env: NodeJS.ProcessEnv = { ...process.env, FLOOR_INTERVAL: String(interval) };
delete env.NODE_EXTRA_CA_CERTS;

/** Workers that have a client (the publish relay's targets). */
const serving = new Set<ChildProcess>();
let nextId = 1;

function handOff(child: ChildProcess, socket: Socket, id: number): void {
  const handle = (socket as unknown as { _handle: { readStop(): number } | null })._handle;
  if (handle === null) {
    child.kill();
    return;
  }
  handle.readStop();
  serving.add(child);
  child.send({ id }, socket, { keepOpen: false }, () => undefined);
}

const server = http.createServer(
  referencePublish((text) => {
    for (const child of serving) child.send({ text });
    return serving.size;
  }),
);

server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
  socket.on('error', () => undefined);
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return;
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  const id = nextId++;
  if (starting >= maxStarting) waiting.push(() => startWorker(socket, accept, id));
  else startWorker(socket, accept, id);
});

function startWorker(socket: Socket, accept: string, id: number): void {
  starting++;
  const child = fork(WORKER, [], {
    execArgv: flags,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (nice > 0 && child.pid !== undefined) os.setPriority(child.pid, nice);
  child.on('exit', () => serving.delete(child));
  child.on('error', () => undefined);
  let ready = false;
  const started = (): void => {
    if (ready) return;
    ready = true;
    starting--;
    waiting.shift()?.();
  };
  child.once('exit', started); // died before ready: its slot is free all the same
  child.once('message', () => {
    started();
    if (socket.destroyed) {
      child.kill();
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      () => handOff(child, socket, id),
    );
  });
}

server.listen(port, '127.0.0.1', () => {
  const { port: real } = server.address() as AddressInfo;
  console.log(`Server started on 127.0.0.1:${real}`);
});
process.on('SIGTERM', () => {
  server.close();
  for (const child of serving) child.kill();
  process.exit(0);
});
