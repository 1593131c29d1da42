import { fork, spawn } from 'node:child_process';
import path from 'node:path';
import { WORKER_CONFIG_ENV } from '../../src/shared/config';
import { ROOT } from '../helpers/server';
import { once } from '../helpers/wait';
import { VALID_WORKER_CONFIG } from '../helpers/worker-config';

const WORKER = path.join(ROOT, 'dist/workers/push-worker.bundle.js');

/** Runs the compiled worker with this config text; resolves with its exit code and stderr. */
async function runWorker(
  config: string | undefined,
): Promise<{ code: number | null; stderr: string }> {
  const env = { ...process.env };
  delete env[WORKER_CONFIG_ENV];
  if (config !== undefined) env[WORKER_CONFIG_ENV] = config;
  const child = spawn(process.execPath, [WORKER], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await once<number | null>(child, 'exit', 'the worker to exit');
  return { code, stderr };
}

describe('a worker checks the config it is given', () => {
  test.each([
    [
      'no maxMessageSize (once: the size limit off)',
      JSON.stringify({ ...VALID_WORKER_CONFIG, maxMessageSize: undefined }),
      /maxMessageSize must be a whole number of 1 or more \(missing\)/,
    ],
    [
      'a string interval',
      JSON.stringify({ ...VALID_WORKER_CONFIG, intervalMin: 'soon' }),
      /intervalMin must be a number/,
    ],
    ['no config at all', undefined, /PUSH_WS_WORKER_CONFIG is not set/],
  ])('%s: exits non-zero, saying why on stderr', async (_name, config, pattern) => {
    const { code, stderr } = await runWorker(config);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(pattern);
  });

  test('a valid config: the worker starts and reports ready', async () => {
    const child = fork(WORKER, [], {
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(VALID_WORKER_CONFIG) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    try {
      expect(await once(child, 'message', 'the ready message')).toEqual({ type: 'ready' });
    } finally {
      const exited = once(child, 'exit', 'the worker to exit');
      child.disconnect(); // a worker exits when its master goes away
      await exited;
    }
  });
});
