/**
 * node dist/scripts/bench/investigations/handoff-at-fork.js [--clients 40] (build first)
 *
 * With no spare, a client waits for a fork, the worker's 'ready', and then the hand-off
 * of its socket: is that last round trip worth removing? Three bare servers (no
 * WebSocket, no logging: only the process model), each forking a worker per TCP
 * connection that writes one byte once it holds the socket:
 *
 * - ready: fork, wait for the worker's 'ready' message, send the socket (as ours and
 *   the floor do);
 * - eager: fork and send the socket at once (Node queues it until the child reads);
 * - stdio: the socket is the child's fd 4 from the fork itself (no IPC for it at all).
 *
 * Clients connect one at a time, 150 ms apart, the servers in turns. Prints, per
 * server, connect → first byte (ms, p50 / p90 / mean).
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { round, spread } from '../stats';
import { numberArg } from '../../lib/args';
import { sleep } from '../../lib/sleep';

type Mode = 'ready' | 'eager' | 'stdio';
const MODES: Mode[] = ['ready', 'eager', 'stdio'];
const WORKER_FLAGS = ['--v8-pool-size=1'];

function serve(socket: net.Socket): void {
  socket.on('error', () => undefined);
  socket.on('close', () => process.exit(0));
  socket.resume();
  socket.write('x');
}

function workerRole(mode: Mode): void {
  if (mode === 'stdio') {
    serve(new net.Socket({ fd: 4, readable: true, writable: true }));
    return;
  }
  process.on('message', (_message, handle) => {
    if (handle instanceof net.Socket) serve(handle);
  });
  process.send?.({ type: 'ready' });
}

function serverRole(mode: Mode): void {
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => undefined);
    let child: ChildProcess;
    switch (mode) {
      case 'stdio':
        child = fork(__filename, ['worker', mode], {
          execArgv: WORKER_FLAGS,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc', socket],
        });
        socket.destroy(); // the child has its own copy of the descriptor
        break;
      case 'eager':
        child = fork(__filename, ['worker', mode], { execArgv: WORKER_FLAGS });
        child.send({ type: 'client' }, socket, { keepOpen: false });
        break;
      case 'ready':
        child = fork(__filename, ['worker', mode], { execArgv: WORKER_FLAGS });
        child.once('message', () => child.send({ type: 'client' }, socket, { keepOpen: false }));
        break;
    }
    child.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as net.AddressInfo).port });
  });
  process.on('disconnect', () => process.exit(0));
}

function firstByte(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => reject(new Error('no byte within 10 s')), 10_000);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(Number(process.hrtime.bigint() - started) / 1e6);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function drive(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '40' } } });
  const clients = numberArg('clients', values.clients, { min: 1, max: 500 });
  const servers = new Map<Mode, { child: ChildProcess; port: number }>();
  for (const mode of MODES) {
    const child = fork(__filename, ['server', mode]);
    const port = await new Promise<number>((resolve) =>
      child.once('message', (message) => resolve((message as { port: number }).port)),
    );
    servers.set(mode, { child, port });
  }
  const times = new Map<Mode, number[]>(MODES.map((mode) => [mode, []]));
  try {
    for (let i = 0; i < clients; i++) {
      const order = i % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        times.get(mode)?.push(await firstByte(servers.get(mode)?.port ?? 0));
        await sleep(150);
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  console.log(`connect → first byte, ${clients} clients each, in turns (ms):`);
  for (const [mode, list] of times) {
    const { p50, p90 } = spread(list);
    const mean = round(list.reduce((a, b) => a + b, 0) / list.length);
    console.log(`${mode.padEnd(6)} p50 ${p50}  p90 ${p90}  mean ${mean}`);
  }
}

const [role, mode] = process.argv.slice(2);
if (role === 'worker') workerRole(mode as Mode);
else if (role === 'server') serverRole(mode as Mode);
else void drive();
