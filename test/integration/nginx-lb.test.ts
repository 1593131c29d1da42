import http from 'node:http';
import { startNginx, stopAllNginx, type NginxProcess } from '../helpers/nginx';
import { procStat } from '../helpers/proc';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

/** GET /status of one instance, straight to it (not through nginx). */
function status(server: ServerProcess): Promise<{ clients: { pid: number }[] }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${server.httpUrl}/status`, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    request.setTimeout(10000, () => request.destroy(new Error('no /status answer')));
    request.on('error', reject);
  });
}

const CLIENTS = 10;

describe('two instances behind the nginx load balancer (deploy/nginx/push-websocket-lb.conf)', () => {
  let servers: ServerProcess[];
  let nginx: NginxProcess;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    servers = await Promise.all([startServer(FAST), startServer(FAST)]);
    nginx = await startNginx('push-websocket-lb.conf', {
      upstreams: servers.map((server) => `${server.host}:${server.port}`),
    });
  }, 30000);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await stopAllNginx();
    await stopAllServers();
  });

  test(`${CLIENTS} clients through nginx are spread over both instances`, async () => {
    const workerOf = new Map<number, number>();
    for (let index = 0; index < CLIENTS; index += 1) {
      const client = await WsClient.open(`ws://127.0.0.1:${nginx.httpPort}/`);
      clients.push(client);
      const pid = await client.workerPid();
      workerOf.set(pid, procStat(pid)?.ppid as number);
      await client.waitForMessages(2);
    }
    const [first, second] = await Promise.all(servers.map(status));
    const counts = [first.clients.length, second.clients.length];
    // least_conn with clients opened one after another: the instances stay even.
    expect(counts[0] + counts[1]).toBe(CLIENTS);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(CLIENTS / 2 - 1);
    // What each instance reports is what the clients were told: their workers are its children.
    servers.forEach((server, index) => {
      const pids = [first, second][index].clients.map((client) => client.pid);
      for (const pid of pids) expect(workerOf.get(pid)).toBe(server.pid);
    });
  }, 40000);

  test('a client of either instance quits through nginx with 1000', async () => {
    const client = await WsClient.open(`ws://127.0.0.1:${nginx.httpPort}/`);
    clients.push(client);
    await client.workerPid();
    client.ws.send('quit');
    expect(await client.closed()).toBe(1000);
  });
});

describe('an instance at --max-clients passes new clients on (proxy_next_upstream http_503)', () => {
  let full: ServerProcess;
  let roomy: ServerProcess;
  let nginx: NginxProcess;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    [full, roomy] = await Promise.all([
      startServer([...FAST, '--max-clients', '2']),
      startServer(FAST),
    ]);
    nginx = await startNginx('push-websocket-lb.conf', {
      upstreams: [full, roomy].map((server) => `${server.host}:${server.port}`),
    });
  }, 30000);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await stopAllNginx();
    await stopAllServers();
  });

  test('every client is served; the full instance holds only its 2', async () => {
    for (let index = 0; index < 6; index += 1) {
      const client = await WsClient.open(`ws://127.0.0.1:${nginx.httpPort}/`);
      clients.push(client);
      await client.workerPid();
    }
    expect((await status(full)).clients).toHaveLength(2);
    expect((await status(roomy)).clients).toHaveLength(4);
  }, 40000);
});
