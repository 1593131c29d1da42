import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKER_CONFIG_ENV, type WorkerConfig } from '../../src/shared/config';
import { ROOT } from '../helpers/server';
import { VALID_WORKER_CONFIG } from '../helpers/worker-config';

const UNBUNDLED = 'dist/workers/push-worker.js';
const BUNDLE = 'dist/workers/push-worker.bundle.js';

/**
 * The files a worker has loaded from disk with this config: when it says ready
 * (`atReady`), or a moment later, once it has loaded what serving a client takes. The
 * compiled files one by one (`UNBUNDLED`) show which modules run when; the bundle the
 * pool forks is the same modules in one file, run at the same moments (esbuild runs a
 * module at its first require).
 */
function loadedBy(config: WorkerConfig, atReady = false, entry = UNBUNDLED): string[] {
  const dump = 'process.stdout.write(JSON.stringify(Object.keys(require.cache)));process.exit(0)';
  const script = `require('./${entry}');` + (atReady ? dump : `setTimeout(() => {${dump}}, 200)`);
  const loaded = JSON.parse(
    execFileSync(process.execPath, ['-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) },
    }),
  ) as string[];
  return loaded.map((file) => path.relative(ROOT, file)).sort();
}

/** What every worker loads: the pure protocol code, the shared settings, its own files. */
const EVERY_WORKER = [
  'dist/src/shared/command-sandbox.js',
  'dist/src/shared/config.js',
  'dist/src/shared/protocol/close-codes.js',
  'dist/src/shared/protocol/constants.js',
  'dist/src/shared/protocol/frame.js',
  'dist/src/shared/protocol/message-buffer.js',
  'dist/src/shared/protocol/receiver.js',
  'dist/src/shared/protocol/utf8.js',
  'dist/src/shared/publish-stream.js',
  'dist/src/shared/quit-words.js',
  'dist/src/shared/worker-config.js',
  'dist/workers/demo-pushes.js',
  'dist/workers/demo-source.js',
  'dist/workers/frames.js',
  'dist/workers/lifetimes.js',
  'dist/workers/memory-ceiling.js',
  'dist/workers/client-runtime.js',
  'dist/workers/publish-pipe.js',
  'dist/workers/publish-source.js',
  'dist/workers/push-worker.js',
  'dist/workers/session.js',
  'dist/workers/warm-up.js',
  'dist/workers/websocket-endpoint.js',
];

/** Loaded only at a hot upgrade (docs/upgrade.md): the link to the new master. */
const UPGRADE_PARTS = [
  'dist/src/shared/control-channel.js',
  'dist/src/shared/exponential-backoff.js',
  'dist/workers/master-link.js',
];

/** Loaded only by a worker that serves an event stream (docs/sse.md). */
const SSE_PARTS = ['dist/src/shared/protocol/sse.js', 'dist/workers/sse-endpoint.js'];

/** What only a worker that runs a command loads (--exec at start, --dir at hand-off). */
const COMMAND_PARTS = [
  'dist/src/shared/client-cgroup.js',
  'dist/src/shared/host-port.js',
  'dist/src/shared/line-splitter.js',
  'dist/src/shared/pass-environment.js',
  'dist/src/shared/process-group.js',
  'dist/src/shared/result.js', // url-path's ok/fail (also failing on main before this)
  'dist/src/shared/url-path.js',
  'dist/workers/cgi-environment.js',
  'dist/workers/command-endpoint.js',
  'dist/workers/command-environment.js',
  'dist/workers/command-source.js',
  'dist/workers/limit-watch.js',
];

/**
 * A worker must start fast: its start-up path loads the pure protocol code and its
 * own files, never winston, yargs or the master's modules, and a worker without a
 * command never loads what only commands need.
 */
describe("the worker's require graph", () => {
  test('holds only workers/ and src/shared/ (protocol, config, IPC types)', () => {
    expect(loadedBy(VALID_WORKER_CONFIG)).toEqual([...EVERY_WORKER].sort());
  });

  test('at ready, only its settings: the rest loads while it waits for a client', () => {
    expect(loadedBy(VALID_WORKER_CONFIG, true)).toEqual([
      'dist/src/shared/command-sandbox.js', // the sandbox's limit names, checked in the settings
      'dist/src/shared/config.js',
      'dist/src/shared/protocol/constants.js',
      'dist/src/shared/worker-config.js',
      'dist/workers/push-worker.js',
    ]);
  });

  test('with --exec, the command parts too, loaded while idle', () => {
    expect(loadedBy({ ...VALID_WORKER_CONFIG, exec: ['cat'], demo: false })).toEqual(
      [...EVERY_WORKER, ...COMMAND_PARTS].sort(),
    );
  });
});

/** A compiled file's source, as the bundle's metafile names it. */
function sourceOf(compiled: string): string {
  return compiled.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

/** The bundle and the files of its lazy parts (scripts/bundle-worker.js). */
const SSE_FILE = 'dist/workers/push-worker.sse.js';
const COMMAND_FILES = [
  'dist/workers/push-worker.command-environment.js',
  'dist/workers/push-worker.command-source.js',
];

/**
 * Pure modules (no state of their own) that a lazy part holds a copy of: two copies of
 * a module that kept state would be two states.
 */
const PURE_SHARED = [
  'src/shared/command-sandbox.ts',
  'src/shared/protocol/close-codes.ts',
  'src/shared/protocol/constants.ts',
  'src/shared/protocol/frame.ts',
  'src/shared/protocol/utf8.ts',
  'src/shared/publish-stream.ts',
];

type Metafile = {
  outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string }[] }>;
};

describe('the bundle the pool forks', () => {
  const meta = (): Metafile =>
    JSON.parse(
      readFileSync(path.join(ROOT, 'dist/workers/push-worker.bundle.meta.json'), 'utf8'),
    ) as Metafile;
  const inputsOf = (file: string): string[] =>
    Object.keys(meta().outputs[file]?.inputs ?? {}).sort();

  test('is the one file a WebSocket worker loads; a command adds its own two', () => {
    const compiledPool = readFileSync(path.join(ROOT, 'dist/src/master/pool/worker-process.js'));
    expect(compiledPool.toString()).toContain("'../../../workers/push-worker.bundle.js'");
    expect(loadedBy(VALID_WORKER_CONFIG, false, BUNDLE)).toEqual([BUNDLE]);
    expect(loadedBy({ ...VALID_WORKER_CONFIG, exec: ['cat'] }, false, BUNDLE)).toEqual(
      [BUNDLE, ...COMMAND_FILES].sort(),
    );
  });

  test('holds what a WebSocket worker runs, and its lazy parts apart (esbuild metafile)', () => {
    // The hot upgrade's link too: it is needed once a deploy has replaced the files on
    // disk, when reading it from there would mix two builds in one worker.
    expect(inputsOf(BUNDLE)).toEqual([...EVERY_WORKER, ...UPGRADE_PARTS].map(sourceOf).sort());
    const lazy = [...inputsOf(SSE_FILE), ...COMMAND_FILES.flatMap(inputsOf)].filter(
      (input) => !PURE_SHARED.includes(input),
    );
    expect(lazy.sort()).toEqual(
      [...SSE_PARTS, ...COMMAND_PARTS, 'dist/workers/reverse-lookup.js']
        // esbuild leaves out what nothing calls: url-path's callers here need no Result
        .filter((file) => file !== 'dist/src/shared/result.js')
        .map(sourceOf)
        .sort(),
    );
  });

  test('imports no package: only Node built-ins and its own lazy parts', () => {
    const files = [BUNDLE, SSE_FILE, ...COMMAND_FILES];
    expect(Object.keys(meta().outputs).sort()).toEqual(files.sort());
    const imports = [
      ...new Set(files.flatMap((file) => meta().outputs[file].imports.map((i) => i.path))),
    ].sort();
    expect(imports).toEqual([
      './push-worker.command-environment.js',
      './push-worker.command-source.js',
      './push-worker.sse.js',
      'node:child_process',
      'node:dns/promises',
      'node:fs',
      'node:net',
    ]);
  });
});
