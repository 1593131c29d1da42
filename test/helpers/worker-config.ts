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
};
