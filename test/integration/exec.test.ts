import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childrenOf, commandLine, environ, isAlive, procStat } from '../helpers/proc';
import { RawClient } from '../helpers/raw-client';
import { ROOT, startServer, stopAllServers, type ServerProcess, statusOf } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

const ECHO_ENV = path.join(ROOT, 'test/fixtures/echo-env.sh');
/** Any readable file will do: Node only warns when it holds no certificate. */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS ?? ECHO_ENV;

interface Status {
  clients: { id: number; pid: number }[];
}

/** The worker serving the client with this id, from /status. */
async function workerOf(server: ServerProcess, id: number): Promise<number> {
  return waitFor(async () => {
    const status = await statusOf<Status>(server);
    return status.clients.find((c) => c.id === id)?.pid;
  }, `client #${id} in /status`);
}

/** The worker's live child: the command. */
async function commandOf(workerPid: number): Promise<number> {
  return waitFor(
    () => childrenOf(workerPid).find((c) => c.state !== 'Z')?.pid,
    `the command of ${workerPid}`,
  );
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

describe('--exec: a command per client', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    // A command sees only the server variables --passenv names (websocketd's rule).
    server = await startServer(
      [
        '--exec',
        `sh ${ECHO_ENV}`,
        '--publish-token',
        'not-for-commands',
        '--passenv',
        'PATH,FROM_SERVER_ENV,NODE_EXTRA_CA_CERTS',
      ],
      { env: { FROM_SERVER_ENV: 'inherited', NOT_PASSED: 'x', NODE_EXTRA_CA_CERTS: EXTRA_CA } },
    );
  });
  afterAll(stopAllServers);

  /** A client whose command has said "ready", with its worker's and command's pids. */
  async function openWithCommand(): Promise<{ client: WsClient; worker: number; command: number }> {
    const client = await WsClient.open(server.url);
    await client.waitForMessages(11);
    const id = Number(client.messages[7].split('=')[1]);
    const worker = await workerOf(server, id);
    return { client, worker, command: await commandOf(worker) };
  }

  test('the command sees the connection in its environment, and its lines arrive in order', async () => {
    const client = await WsClient.open(`${server.url}path/here?topic=news&x=1`);
    await client.waitForMessages(11);
    const env = Object.fromEntries(
      client.messages.slice(0, 10).map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    expect(env.REMOTE_ADDR).toBe('127.0.0.1');
    expect(Number(env.REMOTE_PORT)).toBe(
      (client.ws as unknown as { _socket: { localPort: number } })._socket.localPort,
    );
    expect(Number(env.SERVER_PORT)).toBe(server.port);
    expect(env.REQUEST_URI).toBe('/path/here?topic=news&x=1');
    expect(env.QUERY_STRING).toBe('topic=news&x=1');
    expect(env.HTTP_ORIGIN).toBe('');
    expect(env.PUSH_WS_CLIENT_ID).toMatch(/^\d+$/);
    expect(env.PUSH_WS_PUBLISH_TOKEN).toBe('unset');
    expect(env.FROM_SERVER_ENV).toBe('inherited');
    expect(client.messages[10]).toBe('ready');
    // No hello and no demo pushes: the command owns the stream.
    expect(client.messages.join('\n')).not.toMatch(/Connected to worker|I am waiting/);
    client.terminate();
  });

  test('a worker starts without NODE_EXTRA_CA_CERTS (Node would parse it at start); its command gets it when --passenv names it', async () => {
    const { client, worker, command } = await openWithCommand();
    expect(environ(worker).NODE_EXTRA_CA_CERTS).toBeUndefined();
    expect(environ(command).NODE_EXTRA_CA_CERTS).toBe(EXTRA_CA);
    expect(environ(command).NOT_PASSED).toBeUndefined();
    client.terminate();
  });

  test('the command holds neither its worker’s IPC channel nor its publish pipe', async () => {
    const { client, worker, command } = await openWithCommand();
    const open = (pid: number): string[] =>
      readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    const ipc = readlinkSync(`/proc/${worker}/fd/3`);
    const publishPipe = readlinkSync(`/proc/${worker}/fd/4`);
    expect(publishPipe).toMatch(/^socket:\[\d+\]$/);
    expect(open(command)).not.toContain(ipc);
    expect(open(command)).not.toContain(publishPipe);
    client.terminate();
  });

  test('client text reaches stdin as lines; ps shows the command as the worker’s child', async () => {
    const { client, worker, command } = await openWithCommand();
    expect(commandLine(command)).toBe(`sh ${ECHO_ENV}`);
    for (const text of ['one', 'two words', 'three']) client.ws.send(text);
    await client.waitForMessages(14);
    expect(client.messages.slice(11)).toEqual([
      'you said: one',
      'you said: two words',
      'you said: three',
    ]);
    client.terminate();
    await waitFor(
      () => !isAlive(command) && !isAlive(worker),
      'command and worker to end with the client',
    );
  });

  test('"quit" and "exit" reach the command, as websocketd passes every line', async () => {
    const { client } = await openWithCommand();
    client.ws.send('quit');
    client.ws.send('exit');
    await client.waitForMessages(13);
    expect(client.messages.slice(11)).toEqual(['you said: quit', 'you said: exit']);
    client.terminate();
  });

  test('with --quit-words, quit ends the command (its PID leaves /proc) and the worker', async () => {
    const quitting = await startServer(['--exec', `sh ${ECHO_ENV}`, '--quit-words', 'quit,exit']);
    const client = await WsClient.open(quitting.url);
    await client.waitForMessages(11);
    const id = Number(client.messages[7].split('=')[1]);
    const worker = await workerOf(quitting, id);
    const command = await commandOf(worker);
    client.ws.send('quit');
    expect(await client.closed()).toBe(1000);
    await waitFor(
      () => procStat(command) === undefined && procStat(worker) === undefined,
      'command and worker gone',
    );
    expect(client.messages).not.toContain('you said: quit');
  });

  test('a worker killed with SIGKILL does not leave its command behind', async () => {
    const { client, worker, command } = await openWithCommand();
    process.kill(worker, 'SIGKILL');
    await client.closed();
    await waitFor(() => !isAlive(command), `command ${command} to be ended by the master`);
    await server.waitForLog(new RegExp(`Killed the command of a dead worker \\(pid ${command}\\)`));
  });

  test('the command ending closes the client with 1000', async () => {
    const quick = await startServer(['--exec', `sh -c 'echo first; echo second'`]);
    const client = await WsClient.open(quick.url);
    expect(await client.closed()).toBe(1000);
    expect(client.messages).toEqual(['first', 'second']);
    await quick.waitForLog(/command sh exited \(code 0, signal null\)/);
  });

  test('lines arrive in order, all of them', async () => {
    const counting = await startServer([
      '--exec',
      `sh -c 'i=1; while [ $i -le 2000 ]; do echo "line $i"; i=$((i+1)); done'`,
    ]);
    const client = await WsClient.open(counting.url);
    expect(await client.closed(10000)).toBe(1000);
    expect(client.messages).toEqual(Array.from({ length: 2000 }, (_, i) => `line ${i + 1}`));
  });

  test('a command that cannot start: close 1011 and a log line', async () => {
    // It exists and is executable (a missing one is refused at start), but its
    // interpreter does not exist: execve fails in each worker.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-broken-'));
    const script = path.join(dir, 'broken');
    writeFileSync(script, '#!/nonexistent/interpreter\n', { mode: 0o755 });
    try {
      const broken = await startServer(['--exec', `${script} --flag`]);
      const client = await WsClient.open(broken.url);
      expect(await client.closed()).toBe(1011);
      await broken.waitForLog(/command \S+\/broken failed to start: spawn \S+\/broken ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a command printing 100 MB to a client that does not read: the worker stays small', async () => {
    const flood = await startServer([
      '--exec',
      'sh -c "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 100000000"',
    ]);
    const raw = await RawClient.open(flood.port);
    raw.socket.pause(); // a client that never reads
    const [worker] = await waitFor(() => {
      const pids = flood.workerPids().filter((pid) => childrenOf(pid).length > 0);
      return pids.length > 0 && pids;
    }, 'the flooding worker');
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, rssKiB(worker));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Node itself is ~40-50 MB; without back-pressure this grows toward 100 MB and more.
    expect(peak).toBeLessThan(100 * 1024);
    // And the command is held back, not finished: it is still waiting to write.
    expect(childrenOf(worker).filter((c) => c.state !== 'Z').length).toBeGreaterThan(0);
    raw.destroy();
    await waitFor(() => !isAlive(worker), 'the worker to exit after the client left', 8000);
  });
});
