import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readBounded, ReadProblem } from '../../src/master/config/read-bounded';
import { Fifo, hasOpen } from '../helpers/fifo';
import { waitFor } from '../helpers/wait';

/** The SIGHUP reload's read of --config: bounded in time and size, never blocking. */

let dir = '';
const fifos: Fifo[] = [];
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-read-'))));
afterAll(() => {
  for (const fifo of fifos) fifo.close();
  rmSync(dir, { recursive: true, force: true });
});

const bounds = { timeoutMs: 300, maxBytes: 64 };

test('a regular file is read whole', async () => {
  const file = path.join(dir, 'a.json');
  writeFileSync(file, '{"max-clients": 5}');
  await expect(readBounded(file, bounds)).resolves.toBe('{"max-clients": 5}');
});

test('a missing file, a file over the size bound: a ReadProblem naming why', async () => {
  await expect(readBounded(path.join(dir, 'none'), bounds)).rejects.toEqual(
    new ReadProblem('ENOENT'),
  );
  const big = path.join(dir, 'big.toml');
  writeFileSync(big, 'x'.repeat(65));
  await expect(readBounded(big, bounds)).rejects.toEqual(new ReadProblem('larger than 64 bytes'));
});

test('a FIFO nobody writes ends at the time bound, its descriptor closed', async () => {
  const fifo = new Fifo(path.join(dir, 'silent'));
  fifos.push(fifo);
  const started = Date.now();
  const reading = readBounded(fifo.file, bounds);
  await waitFor(() => hasOpen(process.pid, fifo.file), 'the FIFO open', 2000);
  await expect(reading).rejects.toEqual(new ReadProblem('nothing read to its end within 0.3 s'));
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  // The destroyed pipe closes its fd within a loop turn or two.
  await waitFor(() => !hasOpen(process.pid, fifo.file), 'the FIFO closed', 2000);
});

test('a FIFO written while it is read is read to its end', async () => {
  const fifo = new Fifo(path.join(dir, 'written'));
  fifos.push(fifo);
  const reading = readBounded(fifo.file, { ...bounds, timeoutMs: 5000 });
  // The reader's open first: once this process holds the writing end too, hasOpen no
  // longer tells them apart, and a writer closed before the reader opens takes the text
  // with it (failed once in CI: the read met the time bound).
  await waitFor(() => hasOpen(process.pid, fifo.file), 'the FIFO open', 2000);
  fifo.write('origin = ');
  fifo.write('["https://a.example"]');
  await fifo.closeWhenRead(process.pid);
  await expect(reading).resolves.toBe('origin = ["https://a.example"]');
});
