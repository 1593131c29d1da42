import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Socket } from 'node:net';
import { MAX_IN_FLIGHT, Worker } from '../../src/master/pool/worker';
import { encodeText } from '../../src/shared/protocol/frame';
import { PUBLISH_FD } from '../../src/shared/publish-stream';
import { once, waitFor } from '../helpers/wait';

const FIXTURE = path.join(__dirname, '../fixtures/unread-publish-pipe.js');
const FRAME = encodeText('p'.repeat(1000));
/** Far more writes than the kernel and the bound together take: the loops stop before. */
const MANY = 50_000;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Forks the stand-in as the pool forks a worker: IPC, and the publish pipe on fd 4. */
async function standIn(): Promise<ChildProcess> {
  const child = fork(FIXTURE, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'] });
  await once(child, 'message', 'the stand-in to be ready');
  return child;
}

/** Publishes until the worker refuses, letting the pipe's write callbacks run in between. */
async function publishUntilRefused(worker: Worker): Promise<number> {
  let accepted = 0;
  while (accepted < MANY) {
    if (!worker.publish(FRAME)) return accepted;
    accepted++;
    if (accepted % 100 === 0) await turn();
  }
  return accepted;
}

async function bytesRead(child: ChildProcess): Promise<number> {
  const answer = once<{ bytes: number }>(child, 'message', 'the count of bytes read');
  child.send('count');
  return (await answer).bytes;
}

describe("the master's publish pipe to a worker", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  test('a worker that stops reading gets at most MAX_IN_FLIGHT writes queued; once it reads, it gets every frame accepted, once', async () => {
    const child = await standIn();
    children.push(child);
    const worker = new Worker(child);
    const pipe = child.stdio[PUBLISH_FD] as Socket;

    const accepted = await publishUntilRefused(worker);
    // What the kernel took, then the bound: the master holds no more than that.
    expect(accepted).toBeGreaterThan(MAX_IN_FLIGHT);
    expect(accepted).toBeLessThan(MANY);
    expect(pipe.writableLength).toBeLessThanOrEqual(MAX_IN_FLIGHT * FRAME.length);
    await turn();
    expect(worker.publish(FRAME)).toBe(false); // still stuck: still refused

    child.send('read');
    await waitFor(() => worker.publish(FRAME), 'the worker to take frames again');
    const total = (accepted + 1) * FRAME.length;
    await waitFor(async () => (await bytesRead(child)) >= total, 'every accepted frame');
    expect(await bytesRead(child)).toBe(total);
  });

  test('a worker gone: publishing is refused, and its broken pipe does not throw', async () => {
    const child = await standIn();
    const worker = new Worker(child);
    expect(worker.publish(FRAME)).toBe(true);
    const exited = once(child, 'exit', 'the stand-in to exit');
    child.kill('SIGKILL');
    await exited;
    expect(worker.publish(FRAME)).toBe(false);
    await turn();
    expect(worker.publish(FRAME)).toBe(false);
  });
});
