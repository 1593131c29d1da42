import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sample, scrape } from '../helpers/metrics';
import { childrenOf, isAlive } from '../helpers/proc';
import { writeScript } from '../helpers/script';
import {
  NODE_ARGS,
  ROOT,
  serverReady,
  startServer,
  stopAllServers,
  type ServerProcess,
} from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * Each client's command in a box of its own (docs/isolation.md): another user, kernel
 * limits, a per-client process count. CI runs as root, which these tests need to switch
 * users; as another user they check the refusal instead, and say so.
 */
const ROOT_USER = process.getuid?.() === 0;
const NOBODY = Number(readFileSync('/etc/passwd', 'utf8').match(/^nobody:[^:]*:(\d+):/m)?.[1]);

/**
 * The capabilities a server run as `uid` needs beside the ones under test: none when that
 * user can read the built tree, as in a real deployment; CAP_DAC_READ_SEARCH when the
 * tree lies in a directory only root may enter (a clone in `mktemp -d`, mode 0700), and
 * the test says so. Neither refusal nor command under test depends on it: the server
 * still lacks or holds CAP_SETUID as each test needs, and its commands get no capability.
 */
function readCapsFor(uid: number): string[] {
  if (!ROOT_USER) return [];
  const main = path.join(ROOT, 'dist/src/main.js');
  const probe = spawnSync('setpriv', [`--reuid=${uid}`, '--clear-groups', 'test', '-r', main]);
  if (probe.status === 0) return [];
  console.log(`uid ${uid} cannot read ${main}: the server is lent CAP_DAC_READ_SEARCH`);
  return ['dac_read_search'];
}

/** A marker no other process on the machine has: the fork bomb's sleepers. */
const BOMB_SLEEP = '37.77';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-isolation-'));
  chmodSync(dir, 0o755); // the scripts run as nobody
  writeScript(
    path.join(dir, 'caps'),
    "id -u; grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status; exec cat",
  );
  writeScript(path.join(dir, 'whoami'), 'id -u; id -g; id -G; echo done; exec cat');
  writeScript(
    path.join(dir, 'steady'),
    'i=0; while [ $i -lt 2000 ]; do echo "tick $i"; i=$((i+1)); sleep 0.05; done',
  );
  // Its own hard cap: 100 sleepers at most, whatever the limit does.
  writeScript(
    path.join(dir, 'bomb'),
    `echo forking; i=0; while [ $i -lt 100 ]; do sleep ${BOMB_SLEEP} & i=$((i+1)); done; wait`,
  );
  // Prints three lines, then waits on stdin: block buffered, nothing would arrive before it ends.
  writeScript(
    path.join(dir, 'pyloop'),
    `exec /usr/bin/python3 -c 'import sys, time\nfor i in range(3):\n    print("py", i); time.sleep(0.1)\nsys.stdin.readline()'`,
  );
  writeScript(path.join(dir, 'grepper'), 'exec grep match');
  writeScript(
    path.join(dir, 'oom'),
    `echo hogging; exec /usr/bin/python3 -c 'x = bytearray(256 * 1024 * 1024); print("allocated")'`,
  );
  writeScript(path.join(dir, 'spin'), 'echo spinning; while :; do :; done');
  writeScript(
    path.join(dir, 'hog'),
    `echo hogging; exec /usr/bin/python3 -c 'x = bytearray(512 * 1024 * 1024); print("allocated")'`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterAll(stopAllServers);

/** The pids of live processes whose command line is `sleep BOMB_SLEEP`. */
function bombSleepers(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, 'latin1') === `sleep\0${BOMB_SLEEP}\0`;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Runs the server expecting a refusal: its exit code and its stderr. */
function refused(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, '--port', '0', ...args], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after 10 s: ${stderr}`));
    }, 10000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('--exec-user: refusals at start', () => {
  test('a user that does not exist: exit 2, one line', async () => {
    const { code, stderr } = await refused(['--exec', 'cat', '--exec-user', 'no-such-user-x']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/--exec-user: no such user/)]);
  });

  test('a server without the right to switch: exit 2, one line', async () => {
    // setpriv drops to nobody with no capabilities; it then may not switch to root.
    const read = readCapsFor(NOBODY);
    const child = spawn(
      'setpriv',
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        `--inh-caps=${['-all', ...read.map((cap) => `+${cap}`)].join(',')}`,
        ...(read.length > 0 ? [`--ambient-caps=${read.map((cap) => `+${cap}`).join(',')}`] : []),
        process.execPath,
        ...NODE_ARGS,
        '--port',
        '0',
        '--exec',
        'cat',
        '--exec-user',
        'root',
      ],
      { cwd: ROOT },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    if (!ROOT_USER) console.log('not root: setpriv could not drop; the refusal is still checked');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /--exec-user: cannot run commands as uid 0: the server lacks CAP_SETUID/,
      ),
    ]);
  });
});

const asRoot = ROOT_USER ? describe : describe.skip;

asRoot('--exec-user for --channel-exec', () => {
  test("the channel's command runs as nobody too: its id -u is published", async () => {
    const server = await startServer([
      '--channel-exec',
      `/ids=sh -c 'while :; do id -u; sleep 0.2; done'`,
      '--exec-user',
      'nobody',
      '--no-demo',
    ]);
    const client = await WsClient.open(`${server.url}ids`);
    await client.until((m) => m.length >= 1, 'a published id');
    expect(client.messages[0]).toBe(String(NOBODY));
    client.terminate();
  });
});

asRoot('--exec-user in a server that is not root (AmbientCapabilities, as the unit gives)', () => {
  test('the command runs as nobody and keeps none of the capabilities that allowed the switch', async () => {
    // The server as uid 1 (daemon) holding CAP_SETUID, CAP_SETGID and CAP_KILL as ambient
    // capabilities, as the unit gives them.
    const caps = ['setuid', 'setgid', 'kill', ...readCapsFor(1)].map((cap) => `+${cap}`).join(',');
    const server = await serverReady(
      spawn(
        'setpriv',
        [
          '--reuid=1',
          '--regid=1',
          '--clear-groups',
          `--inh-caps=${caps}`,
          `--ambient-caps=${caps}`,
          process.execPath,
          ...NODE_ARGS,
          '--port',
          '0',
          '--dir',
          dir,
          '--exec-user',
          'nobody',
        ],
        { cwd: ROOT },
      ),
    );
    const client = await WsClient.open(`${server.url}caps`);
    await client.until((m) => m.length >= 4, 'the id and capabilities');
    expect(client.messages).toEqual([
      String(NOBODY),
      'CapPrm:\t0000000000000000',
      'CapEff:\t0000000000000000',
      'CapAmb:\t0000000000000000',
    ]);
    const worker = await waitFor(async () => {
      const response = await fetch(`${server.httpUrl}/status`);
      return ((await response.json()) as { clients: { pid: number }[] }).clients[0]?.pid;
    }, 'the worker');
    const command = await waitFor(() => childrenOf(worker)[0]?.pid, 'the command');
    client.terminate();
    // The server, not root, can still end its command running as another user (CAP_KILL).
    await waitFor(() => !isAlive(command) || undefined, 'the command ended');
  });
});
if (!ROOT_USER) console.log('isolation: not root, the user switch and limit tests are NOT run');

asRoot('commands as nobody, with limits (as root, as CI runs)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer([
      '--dir',
      dir,
      '--exec-user',
      'nobody',
      '--exec-limit',
      'cpu=1',
      '--exec-limit',
      'as=256M,nproc=20',
      '--exec-cgroups',
      'off', // the process watch in /proc; the cgroups are tested below
    ]);
  });

  test('the command runs as nobody: its id -u reaches the client, no supplementary group', async () => {
    const client = await WsClient.open(`${server.url}whoami`);
    await client.until((m) => m.includes('done'), 'the ids');
    const [uid, gid, groups] = client.messages;
    expect(Number(uid)).toBe(NOBODY);
    expect(Number(gid)).not.toBe(0);
    expect(groups.split(' ')).toEqual([gid]); // only its own group: the server's are dropped
    client.terminate();
  });

  test('a fork bomb is killed at the process limit (4005) while another client keeps its pushes', async () => {
    const steady = await WsClient.open(`${server.url}steady`);
    await steady.until((m) => m.length >= 2, 'the steady pushes');
    const bomb = await WsClient.open(`${server.url}bomb`);
    expect(await bomb.closed(30_000)).toBe(4005);
    expect(bomb.closeReason).toBe('limit exceeded: nproc');
    const before = steady.messages.length;
    await steady.until((m) => m.length >= before + 5, 'pushes after the bomb');
    expect(steady.closeCode).toBeUndefined();
    await waitFor(() => bombSleepers().length === 0 || undefined, 'every sleeper of the bomb gone');
    await server.waitForLog(
      /exceeded the nproc limit \(\d+ processes, over 20\); closing with 4005/,
    );
    steady.terminate();
  });

  test('a CPU spinner is ended at cpu=1 (SIGXCPU): 4005, one log line, a count in /metrics', async () => {
    const spin = await WsClient.open(`${server.url}spin`);
    await spin.until((m) => m.includes('spinning'), 'the spinner starting');
    expect(await spin.closed(30_000)).toBe(4005);
    expect(spin.closeReason).toBe('limit exceeded: cpu');
    await server.waitForLog(/exceeded the cpu limit \(signal SIG(XCPU|KILL)\)/);
    const body = await scrape(server);
    expect(sample(body, 'push_websocket_limit_kills_total{limit="cpu"}')).toBe(1);
    expect(sample(body, 'push_websocket_limit_kills_total{limit="nproc"}')).toBe(1);
  });

  test('a memory hog fails its allocation at as=256M and ends; its client is closed', async () => {
    const hog = await WsClient.open(`${server.url}hog`);
    expect(await hog.closed()).toBe(1000); // the command ended by itself (docs/isolation.md)
    expect(hog.messages).toEqual(['hogging']);
    await server.waitForLog(/hog stderr: MemoryError/);
  });
});

describe('--line-buffered: output arrives line by line', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['--dir', dir, '--line-buffered']);
  });

  test('python3 (PYTHONUNBUFFERED): each print arrives while the program still runs', async () => {
    const client = await WsClient.open(`${server.url}pyloop`);
    // The program is waiting on stdin now: without the flag its lines sit in its buffer.
    await client.until((m) => m.length >= 3, 'three lines before the program ends');
    expect(client.messages).toEqual(['py 0', 'py 1', 'py 2']);
    expect(client.closeCode).toBeUndefined();
    client.ws.send('bye');
    expect(await client.closed()).toBe(1000);
  });

  test('grep (stdbuf -oL) reading a slow feed: each match arrives before the next line is sent', async () => {
    const client = await WsClient.open(`${server.url}grepper`);
    for (const line of ['match 1', 'no', 'match 2']) {
      client.ws.send(line);
      if (line.startsWith('match')) await client.until((m) => m.includes(line), line);
    }
    expect(client.messages).toEqual(['match 1', 'match 2']);
    client.terminate();
  });
});

describe('client cgroups (--exec-limit nproc, memory with --exec-cgroups auto)', () => {
  let server: ServerProcess;
  let parents: string[] = [];
  beforeAll(async () => {
    server = await startServer(['--dir', dir, '--exec-limit', 'nproc=20,memory=64M']);
    const line = await server.waitForLog(
      /Client cgroups: v(\d) under (.*)|No client cgroups \((.*)\)/,
    );
    if (line[2] !== undefined) parents = line[2].split(', ');
    else console.log(`client cgroups NOT exercised on this machine: ${line[3]}`);
    if (line[1] === '1')
      console.log(
        'client cgroups: v1 (pids, memory) exercised; v2 (delegated) NOT: no delegated v2 subtree here',
      );
  });

  /** The worker serving the newest client, from /status. */
  async function newestWorker(): Promise<number> {
    const response = await fetch(`${server.httpUrl}/status`);
    const status = (await response.json()) as { clients: { id: number; pid: number }[] };
    return status.clients.sort((a, b) => b.id - a.id)[0].pid;
  }

  test('without cgroups, the start says so in one line and what is not enforced', () => {
    if (parents.length > 0) {
      console.log('cgroups available: the no-cgroup notice is not shown here');
      return expect(server.output).not.toMatch(/No client cgroups/);
    }
    expect(server.output).toMatch(
      /No client cgroups \(.*\): --exec-limit memory not enforced; nproc is watched in \/proc/,
    );
  });

  test('a fork bomb meets pids.max in its own cgroup: 4005, the other client keeps its pushes, the cgroup is removed', async () => {
    if (parents.length === 0) return console.log('skipped: no client cgroups here');
    const steady = await WsClient.open(`${server.url}steady`);
    await steady.until((m) => m.length >= 2, 'the steady pushes');
    const bomb = await WsClient.open(`${server.url}bomb`);
    await bomb.until((m) => m.includes('forking'), 'the bomb starting');
    const worker = await newestWorker();
    const cgroups = parents.map((parent) => path.join(parent, `client-${worker}`));
    expect(await bomb.closed(30_000)).toBe(4005);
    expect(bomb.closeReason).toBe('limit exceeded: nproc');
    await server.waitForLog(/exceeded the nproc limit \(cgroup nproc event\)/);
    const before = steady.messages.length;
    await steady.until((m) => m.length >= before + 5, 'pushes after the bomb');
    await waitFor(() => bombSleepers().length === 0 || undefined, 'every sleeper of the bomb gone');
    await waitFor(
      () => cgroups.every((cgroup) => !existsSync(cgroup)) || undefined,
      'the cgroups removed',
    );
    steady.terminate();
  });

  test('a memory hog is OOM-killed at memory=64M in its cgroup: 4005 "limit exceeded: memory"', async () => {
    if (parents.length === 0) return console.log('skipped: no client cgroups here');
    const hog = await WsClient.open(`${server.url}oom`);
    expect(await hog.closed(30_000)).toBe(4005);
    expect(hog.closeReason).toBe('limit exceeded: memory');
    const body = await scrape(server);
    expect(sample(body, 'push_websocket_limit_kills_total{limit="memory"}')).toBe(1);
  });
});
