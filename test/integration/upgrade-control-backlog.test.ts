import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../helpers/proc';
import { ROOT } from '../helpers/server';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';

/**
 * Regression (issue 23, 1,000 clients): every worker re-attaches to the new master at
 * once, and a Unix socket whose backlog is full refuses a connection at once (EAGAIN)
 * instead of making it wait as TCP does. Workers gave up on the first EAGAIN, stayed with
 * the old master, and lost their client when it exited (918 of 1,000 under load).
 *
 * Here a "new master" listens on a control socket with a backlog of 1 and is stopped
 * (SIGSTOP) while eight workers' links (workers/master-link.ts, the compiled module, in
 * processes of their own) are told to re-attach: most find the backlog full. Once it
 * runs again it adopts every connection that comes; each worker must be adopted.
 */

const WORKERS = 8;

/** The new master's stand-in: adopts whoever sends an adopt request; prints "listening". */
const MASTER = `
const net = require('node:net');
const { controlRecord } = require(${JSON.stringify(path.join(ROOT, 'dist/src/shared/control-channel.js'))});
const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk;
    if (!buffered.includes('\\n')) return;
    const request = JSON.parse(buffered.split('\\n')[0]);
    socket.write(controlRecord({ type: 'adopted', master: process.pid }));
    console.log('adopted ' + request.client.id);
  });
});
server.listen({ path: process.argv[1], backlog: 1 }, () => console.log('listening'));
`;

/**
 * A worker's link, told of the hand-over at once; prints what becomes of it, and each
 * error its sockets meet (the real errors, seen on their way to the link's listeners).
 */
const WORKER = `
const net = require('node:net');
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, ...args) {
  if (event === 'error') console.log('error ' + args[0].code);
  return emit.call(this, event, ...args);
};
const { MasterLink } = require(${JSON.stringify(path.join(ROOT, 'dist/workers/master-link.js'))});
const id = Number(process.argv[2]);
const link = new MasterLink({
  onMessage: () => undefined,
  onGone: () => { console.log('gone'); process.exit(0); },
  deliver: () => undefined,
  adoptRequest: () => ({
    type: 'adopt', version: 1, pid: process.pid, pushed: 0, frames: 0,
    client: { id, channel: '/', format: 'text', remote: '127.0.0.1:1', address: '127.0.0.1', since: Date.now() },
  }),
  onAdopted: (master) => { console.log('adopted by ' + master); process.exit(0); },
  log: (level, message) => console.log(level + ' ' + message),
});
link.handover({ type: 'handover', path: process.argv[1], master: 1 });
console.log('connecting');
`;

interface Run {
  child: ChildProcess;
  output: string;
}

function run(script: string, args: string[]): Run {
  const child = spawn(process.execPath, ['-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started: Run = { child, output: '' };
  child.stdout?.on('data', (chunk: Buffer) => (started.output += chunk.toString()));
  return started;
}

describe('workers re-attach when the control socket is full', () => {
  let directory = '';
  const runs: Run[] = [];

  beforeAll(() => {
    directory = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-control-'));
  });

  afterAll(async () => {
    for (const { child } of runs) {
      if (child.pid === undefined || !isAlive(child.pid)) continue;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await waitFor(
      () => runs.every(({ child }) => child.exitCode !== null || child.signalCode !== null),
      'every process to end',
    );
    rmSync(directory, { recursive: true, force: true });
  });

  test('a full backlog (EAGAIN) is tried again, and every worker is adopted', async () => {
    const socket = path.join(directory, 'master.sock');
    const master = run(MASTER, [socket]);
    runs.push(master);
    await waitFor(() => master.output.includes('listening'), 'the stand-in to listen');
    master.child.kill('SIGSTOP');

    const workers = Array.from({ length: WORKERS }, (_, i) => run(WORKER, [socket, String(i + 1)]));
    runs.push(...workers);
    await waitFor(
      () => workers.every((worker) => worker.output.includes('connecting')),
      'every worker to try',
    );
    // With the stand-in stopped, two connections fit (backlog 1); the others meet EAGAIN.
    const full = await waitFor(() => {
      const refused = workers.filter((worker) => worker.output.includes('error EAGAIN'));
      return refused.length >= WORKERS - 2 && refused;
    }, 'the backlog to refuse the workers beyond it');
    console.log(`${full.length} of ${WORKERS} workers met a full backlog (EAGAIN)`);
    expect(workers.filter((worker) => /adopted|gone|warn/.test(worker.output))).toEqual([]);
    master.child.kill('SIGCONT');

    await waitFor(
      () => workers.every((worker) => worker.child.exitCode !== null),
      'every worker to be adopted or give up',
      HANG_BOUND_MS,
    );
    for (const worker of workers) {
      expect(worker.output).toContain(`adopted by ${master.child.pid}`);
      expect(worker.output).not.toMatch(/gone|not adopted/);
    }
    const adopted = master.output.match(/^adopted \d+$/gm) ?? [];
    expect(adopted).toHaveLength(WORKERS);
  });
});
