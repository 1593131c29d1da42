import { fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { WORKER_CONFIG_ENV } from '../../src/shared/config';
import type { ClientHandoff } from '../../src/shared/ipc';
import { ROOT } from '../helpers/server';
import { Conditions, once } from '../helpers/wait';
import { VALID_WORKER_CONFIG } from '../helpers/worker-config';

const WORKER = path.join(ROOT, 'dist/workers/push-worker.bundle.js');

function handoff(id: number): Omit<ClientHandoff, 'head'> & { head: string } {
  return {
    type: 'client',
    id,
    remote: `127.0.0.1:${40000 + id}`,
    head: '',
    request: {
      remoteAddress: '127.0.0.1',
      remotePort: 40000 + id,
      serverPort: 5001,
      url: '/',
      method: 'GET',
      httpVersion: '1.1',
      headers: [['Host', '127.0.0.1:5001']],
      serverName: '127.0.0.1',
    },
    channel: '/',
    format: 'text',
  };
}

/** Two TCP connections: the server sides (to hand over) and the client sides (to watch). */
async function pairs(
  count: number,
): Promise<{ server: net.Server; ends: [net.Socket, net.Socket][] }> {
  const accepted: net.Socket[] = [];
  const conditions = new Conditions();
  const server = net.createServer((socket) => {
    accepted.push(socket);
    conditions.wake();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const clients = Array.from({ length: count }, () => net.connect(port, '127.0.0.1'));
  await conditions.until(() => accepted.length === count, 'connections', 5000);
  return { server, ends: accepted.map((socket, index) => [socket, clients[index]]) };
}

describe('a worker serves one client, ever', () => {
  test('a second socket handed to a busy worker is closed, not kept open (no descriptor leak)', async () => {
    const worker = fork(WORKER, [], {
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(VALID_WORKER_CONFIG) },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    let opened: Awaited<ReturnType<typeof pairs>> | undefined;
    try {
      await once(worker, 'message', 'the worker to be ready');
      opened = await pairs(2);
      const { ends } = opened;
      const [[firstServer, firstClient], [secondServer, secondClient]] = ends;
      const hello = once<Buffer>(firstClient, 'data', 'the first client’s hello');
      worker.send(handoff(1), firstServer);
      expect((await hello).toString('latin1')).toContain('Connected to worker PID');
      const closed = once(secondClient, 'close', 'the second connection to be closed');
      secondClient.on('error', () => undefined);
      worker.send(handoff(2), secondServer);
      await closed;
    } finally {
      worker.kill('SIGKILL');
      for (const socket of opened?.ends.flat() ?? []) socket.destroy();
      opened?.server.close();
    }
  });
});
