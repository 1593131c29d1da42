import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startNginx, stopAllNginx, type NginxProcess } from '../helpers/nginx';
import { isAlive, procStat } from '../helpers/proc';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { makeSelfSignedCertificate, type SelfSignedCertificate } from '../helpers/tls';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, options: https.RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? https : http).get(url, options, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode as number, headers: res.headers, body }),
      );
    });
    request.setTimeout(10000, () => request.destroy(new Error(`no answer from ${url}`)));
    request.on('error', reject);
  });
}

describe('wss:// through nginx (deploy/nginx/push-websocket-tls.conf)', () => {
  let dir: string;
  let tls: SelfSignedCertificate;
  let server: ServerProcess;
  let nginx: NginxProcess;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-tls-'));
    tls = await makeSelfSignedCertificate(dir);
    // As deploy/nginx/README.md says: nginx on this box is the one proxy to believe.
    server = await startServer([...FAST, '--verbose', '--trust-proxy', '127.0.0.1']);
    nginx = await startNginx('push-websocket-tls.conf', {
      https: true,
      upstreams: [`${server.host}:${server.port}`],
      certificate: tls.certificate,
      key: tls.key,
    });
  }, 30000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.terminate();
  });

  afterAll(async () => {
    await stopAllNginx();
    await stopAllServers();
    rmSync(dir, { recursive: true, force: true });
  });

  const wssUrl = (): string => `wss://127.0.0.1:${nginx.httpsPort}/`;

  test('a client trusting the certificate gets its hello and pushes from a worker of the server', async () => {
    const client = await WsClient.open(wssUrl(), undefined, { ca: tls.pem });
    clients.push(client);
    const pid = await client.workerPid();
    expect(client.messages[0]).toMatch(/^Connected to worker PID \d+ as client #\d+$/);
    expect(procStat(pid)?.ppid).toBe(server.pid);
    expect(isAlive(pid)).toBe(true);
    await client.waitForMessages(3);
    for (const push of client.messages.slice(1, 3)) {
      expect(push).toMatch(/^I am waiting 0\.\d+ seconds$/);
    }
  });

  test('quit closes the connection with 1000 through nginx, and the worker exits', async () => {
    const client = await WsClient.open(wssUrl(), undefined, { ca: tls.pem });
    clients.push(client);
    const pid = await client.workerPid();
    client.ws.send('quit');
    expect(await client.closed()).toBe(1000);
    await waitFor(() => !isAlive(pid), `worker ${pid} to exit`);
  });

  test('the server is told who the client is and that it came over TLS', async () => {
    const client = await WsClient.open(wssUrl(), undefined, { ca: tls.pem });
    clients.push(client);
    await client.workerPid();
    const [line] = await server.waitForLog(/Handshake headers: .*"x-forwarded-proto":"https".*/);
    expect(line).toContain('"x-forwarded-for":"127.0.0.1"');
    expect(line).toMatch(/"upgrade":"websocket"/);
    expect(line).toMatch(/"connection":"upgrade"/);
  });

  test("with --trust-proxy 127.0.0.1, /status shows the client's real address, not nginx's", async () => {
    // The client connects from another loopback address than nginx's, and forges a chain.
    const client = await WsClient.open(wssUrl(), undefined, {
      ca: tls.pem,
      localAddress: '127.0.0.2',
      headers: { 'X-Forwarded-For': '6.6.6.6' },
    });
    clients.push(client);
    const pid = await client.workerPid();
    const response = await get(`https://127.0.0.1:${nginx.httpsPort}/status`, { ca: tls.pem });
    const entry = (
      JSON.parse(response.body) as { clients: { pid: number; remote: string }[] }
    ).clients.find((listed) => listed.pid === pid);
    expect(entry?.remote).toBe('127.0.0.2');
    await server.waitForLog(/Handshake from 127\.0\.0\.2 \(via 127\.0\.0\.1:\d+, https\)/);
  });

  test('a client that does not trust the certificate is refused by TLS', async () => {
    const ws = new WebSocket(wssUrl());
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(error.message).toMatch(/self.signed certificate/);
  });

  test('GET /status over https reaches the server', async () => {
    const response = await get(`https://127.0.0.1:${nginx.httpsPort}/status`, { ca: tls.pem });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).listening).toBe(`${server.host}:${server.port}`);
  });

  test('plain http is redirected to https, path and query kept', async () => {
    const response = await get(`http://127.0.0.1:${nginx.httpPort}/status?from=test`);
    expect([301, 308]).toContain(response.status);
    expect(response.headers.location).toBe('https://127.0.0.1/status?from=test');
  });
});
