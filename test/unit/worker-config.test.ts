import { WORKER_CONFIG_ENV, workerConfigOf, type ServerConfig } from '../../src/shared/config';
import { parseWorkerConfig } from '../../src/shared/worker-config';
import { VALID_WORKER_CONFIG } from '../helpers/worker-config';
import { AUTH_OFF, LIFECYCLE_OFF } from '../helpers/cli';

const valid = VALID_WORKER_CONFIG;
const text = (fields: object): string => JSON.stringify(fields);

describe('parseWorkerConfig', () => {
  test('reads back what the master sends, with and without --exec', () => {
    expect(parseWorkerConfig(text(valid))).toEqual(valid);
    const server: ServerConfig = {
      host: '127.0.0.1',
      port: 0,
      maxClients: 5,
      intervalMin: 0.05,
      intervalMax: 0.1,
      spareWorkers: 0,
      spareWorkersMax: 0,
      origins: [],
      maxMessageSize: 10,
      handshakeTimeout: 1,
      pingInterval: 0,
      logLevel: 'debug',
      logFormat: 'json',
      exec: ['sh', '-c', 'cat'],
      demo: true,
      publishToken: 'secret-token',
      maxBuffered: 16384,
      redis: undefined,
      history: 100,
      historyTtl: 3600,
      idempotencyWindow: 300,
      channelExec: [],
      maxClientsPerIp: 0,
      connectRate: undefined,
      workerMemoryLimit: 256,
      adminToken: undefined,
      trustProxy: [],
      passenv: ['PATH', 'FROM_SERVER'],
      quitWords: [],
      dir: undefined,
      staticDir: undefined,
      binary: true,
      sameOrigin: false,
      closeMs: 250,
      reverseLookup: true,
      headers: { all: [], ws: [], http: [] },
      maxLifetime: 60,
      idleTimeout: 0,
      drainSeconds: 30,
      auth: { ...AUTH_OFF, secretFile: '/etc/push-websocket/secret', privateChannels: ['/user/*'] },
      lifecycle: LIFECYCLE_OFF,
    };
    const sent = workerConfigOf(server, '1.2.3');
    expect(sent).toMatchObject({
      passenv: ['PATH', 'FROM_SERVER'],
      quitWords: [],
      binary: true,
      closeMs: 250,
      reverseLookup: true,
      serverSoftware: 'push-websocket/1.2.3',
    });
    expect(parseWorkerConfig(JSON.stringify(sent))).toEqual(sent);
    expect(JSON.stringify(sent)).not.toContain('secret-token');
  });

  test.each([
    [
      'maxMessageSize missing',
      { ...valid, maxMessageSize: undefined },
      'maxMessageSize',
      'missing',
    ],
    ['maxMessageSize a string', { ...valid, maxMessageSize: '5' }, 'maxMessageSize', 'got "5"'],
    ['maxMessageSize 0', { ...valid, maxMessageSize: 0 }, 'maxMessageSize', 'got 0'],
    ['maxMessageSize fractional', { ...valid, maxMessageSize: 1.5 }, 'maxMessageSize', 'got 1.5'],
    [
      'maxMessageSize null (JSON of Infinity)',
      { ...valid, maxMessageSize: Infinity },
      'maxMessageSize',
      'got null',
    ],
    ['maxBuffered negative', { ...valid, maxBuffered: -1 }, 'maxBuffered', 'got -1'],
    ['intervalMin 0', { ...valid, intervalMin: 0 }, 'intervalMin', 'got 0'],
    ['intervalMax missing', { ...valid, intervalMax: undefined }, 'intervalMax', 'missing'],
    [
      'intervalMax below intervalMin',
      { ...valid, intervalMin: 3, intervalMax: 2 },
      'intervalMax',
      'got 2',
    ],
    ['pingInterval negative', { ...valid, pingInterval: -5 }, 'pingInterval', 'got -5'],
    ['pingInterval a string', { ...valid, pingInterval: '30' }, 'pingInterval', 'got "30"'],
    ['demo a string', { ...valid, demo: 'yes' }, 'demo', 'got "yes"'],
    ['debug missing', { ...valid, debug: undefined }, 'debug', 'missing'],
    ['exec a string', { ...valid, exec: 'sh -c cat' }, 'exec', 'got "sh -c cat"'],
    ['exec empty', { ...valid, exec: [] }, 'exec', 'got []'],
    ['exec with a number', { ...valid, exec: ['sleep', 1] }, 'exec', 'got ["sleep",1]'],
    ['exec null', { ...valid, exec: null }, 'exec', 'got null'],
    ['passenv a string', { ...valid, passenv: 'PATH' }, 'passenv', 'got "PATH"'],
    ['quitWords missing', { ...valid, quitWords: undefined }, 'quitWords', 'missing'],
    ['binary a string', { ...valid, binary: 'true' }, 'binary', 'got "true"'],
    ['closeMs negative', { ...valid, closeMs: -1 }, 'closeMs', 'got -1'],
    ['reverseLookup missing', { ...valid, reverseLookup: undefined }, 'reverseLookup', 'missing'],
    ['serverSoftware empty', { ...valid, serverSoftware: '' }, 'serverSoftware', 'got ""'],
  ])('%s: an error naming the field', (_name, fields, name, got) => {
    expect(() => parseWorkerConfig(text(fields))).toThrow(
      new RegExp(`^${WORKER_CONFIG_ENV}: ${name} .*\\(${got.replace(/[[\]]/g, '\\$&')}\\)$`),
    );
  });

  test.each([
    ['not set', undefined, /PUSH_WS_WORKER_CONFIG is not set/],
    ['not JSON', '{maxMessageSize: 5', /PUSH_WS_WORKER_CONFIG is not valid JSON/],
    ['an array', '[1, 2]', /PUSH_WS_WORKER_CONFIG must be a JSON object/],
    ['null', 'null', /PUSH_WS_WORKER_CONFIG must be a JSON object/],
    ['an unknown field', text({ ...valid, maxMesageSize: 5 }), /unknown field maxMesageSize/],
  ])('%s: a clear error', (_name, input, pattern) => {
    expect(() => parseWorkerConfig(input)).toThrow(pattern);
  });
});
