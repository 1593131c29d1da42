import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { WORKER_CONFIG_ENV } from '../../src/shared/config';
import { ROOT } from '../helpers/server';
import { VALID_WORKER_CONFIG } from '../helpers/worker-config';

/**
 * A worker must start fast: its start-up path loads the pure protocol code and its
 * own files, never winston, yargs or the master's modules.
 */
describe("the worker's require graph", () => {
  test('holds only workers/ and src/shared/ (protocol, config, IPC types)', () => {
    const script =
      "require('./dist/workers/push-worker.js');" +
      'process.stdout.write(JSON.stringify(Object.keys(require.cache)))';
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['-e', script], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(VALID_WORKER_CONFIG) },
      }),
    ) as string[];
    const files = loaded.map((file) => path.relative(ROOT, file)).sort();
    expect(files).toEqual([
      'dist/src/shared/config.js',
      'dist/src/shared/host-port.js',
      'dist/src/shared/line-splitter.js',
      'dist/src/shared/pass-environment.js',
      'dist/src/shared/protocol/close-codes.js',
      'dist/src/shared/protocol/constants.js',
      'dist/src/shared/protocol/frame.js',
      'dist/src/shared/protocol/message-buffer.js',
      'dist/src/shared/protocol/receiver.js',
      'dist/src/shared/protocol/utf8.js',
      'dist/src/shared/quit-words.js',
      'dist/src/shared/url-path.js',
      'dist/src/shared/worker-config.js',
      'dist/workers/cgi-environment.js',
      'dist/workers/command-endpoint.js',
      'dist/workers/command-environment.js',
      'dist/workers/command-source.js',
      'dist/workers/demo-pushes.js',
      'dist/workers/demo-source.js',
      'dist/workers/frames.js',
      'dist/workers/memory-ceiling.js',
      'dist/workers/process-group.js',
      'dist/workers/publish-source.js',
      'dist/workers/push-worker.js',
      'dist/workers/session.js',
      'dist/workers/warm-up.js',
      'dist/workers/websocket-endpoint.js',
    ]);
  });
});
