import type { WorkerConfig } from '../../src/shared/config';

/** A worker config as the master sends it with its defaults (`workerConfigOf`). */
export const VALID_WORKER_CONFIG: WorkerConfig = {
  intervalMin: 2,
  intervalMax: 5,
  maxMessageSize: 1048576,
  pingInterval: 30,
  exec: undefined,
  demo: true,
  maxBuffered: 1048576,
  debug: false,
  memoryLimitMb: 256,
  passenv: ['PATH', 'LANG', 'LC_*', 'TZ', 'HOME'],
  quitWords: ['quit', 'exit'],
  binary: false,
  closeMs: 100,
  reverseLookup: false,
  serverSoftware: 'push-websocket/0.1.0',
  maxLifetime: 0,
  idleTimeout: 0,
};
