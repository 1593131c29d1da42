import { equalJitterDelay } from '../../src/shared/exponential-backoff';
import {
  clientIdOf,
  defaultInstanceId,
  instanceOfClientId,
  isInstanceId,
} from '../../src/master/broker/client-id';
import { answerHistory } from '../../src/master/broker/history-answer';
import {
  channelKeys,
  decodeClientMessage,
  decodePublication,
  encodeClientMessage,
  encodePublication,
} from '../../src/master/broker/redis-scripts';
import { checkRedisUrl, parseRedisUrl, redactRedisUrl } from '../../src/master/broker/redis-url';
import { SubscriptionCounts } from '../../src/master/broker/subscription-counts';

describe('client ids name their instance', () => {
  test.each([
    ['web-1-7', 'web-1'],
    ['host.example.42.ab12cd-3', 'host.example.42.ab12cd'],
    ['a-1', 'a'],
  ])('%s belongs to %s', (id, instance) => {
    expect(instanceOfClientId(id)).toBe(instance);
  });

  test.each(['7', 'a-', 'a-0', 'a-07', '-1', 'a b-1', 'a-1x', ''])(
    '%j is not a client id',
    (id) => {
      expect(instanceOfClientId(id)).toBeUndefined();
    },
  );

  test('round trip, and the default instance id is a valid one', () => {
    expect(instanceOfClientId(clientIdOf('web-1', 12))).toBe('web-1');
    expect(isInstanceId(defaultInstanceId())).toBe(true);
    expect(defaultInstanceId()).not.toBe(defaultInstanceId());
  });
});

describe('subscription counts', () => {
  test('first add and last remove are reported', () => {
    const counts = new SubscriptionCounts();
    expect(counts.add('/a')).toBe(true);
    expect(counts.add('/a')).toBe(false);
    expect(counts.remove('/a')).toBe(false);
    expect(counts.has('/a')).toBe(true);
    expect(counts.remove('/a')).toBe(true);
    expect(counts.remove('/a')).toBe(false);
    expect(counts.size).toBe(0);
  });
});

describe('reconnect back-off', () => {
  test('doubles from the base up to the cap, with jitter in the upper half', () => {
    const options = { baseMs: 50, maxMs: 2000 };
    expect([1, 2, 3, 4].map((n) => equalJitterDelay(n, options, () => 1))).toEqual([
      50, 100, 200, 400,
    ]);
    expect(equalJitterDelay(1, options, () => 0)).toBe(25);
    expect(equalJitterDelay(100, options, () => 1)).toBe(2000);
    expect(equalJitterDelay(100, options, () => 0)).toBe(1000);
  });
});

describe('redis URL', () => {
  test('credentials never show', () => {
    expect(redactRedisUrl('redis://:hunter2@db.internal:6380/2')).toBe(
      'redis://***@db.internal:6380/2',
    );
    expect(redactRedisUrl('rediss://app:hunter2@db:6379')).toBe('rediss://***@db:6379');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactRedisUrl('::nonsense hunter2')).not.toContain('hunter2');
  });

  test.each([
    ['redis://127.0.0.1:6379', undefined],
    ['redis://:pw@localhost/3', undefined],
    ['http://localhost', /scheme/],
    ['localhost:6379', /scheme/],
    ['nonsense', /not a URL/],
    ['redis://localhost/db', /database number/],
    ['redis+sentinel://s1:26379,s2:26380/mymaster', undefined],
    ['redis+sentinel://:pw@[::1]:26379/mymaster/2', undefined],
    ['redis+sentinel://s1:26379', /MASTERNAME/],
    ['redis+sentinel://s1:26379,/mymaster', /bad sentinel address/],
    ['redis+sentinel://s1:99999/mymaster', /bad sentinel port/],
    ['redis+sentinel://s1/my%20master', /master name/],
    ['redis+sentinel://s1/mymaster/x', /expected redis\+sentinel/],
  ])('%s', (url, problem) => {
    const result = checkRedisUrl(url);
    if (problem === undefined) expect(result).toBeUndefined();
    else expect(result).toMatch(problem);
  });

  test('the Sentinel form: hosts, default port, master name, db and credentials', () => {
    expect(
      parseRedisUrl('redis+sentinel://app:p%40ss@s1,10.0.0.2:26380,[::1]:26381/my-master/3'),
    ).toEqual({
      ok: true,
      value: {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'my-master',
        db: 3,
        username: 'app',
        password: 'p@ss',
      },
    });
    expect(parseRedisUrl('redis+sentinel://hunter2@s1/m')).toMatchObject({
      ok: true,
      value: { username: '', password: 'hunter2', db: 0 },
    });
    expect(redactRedisUrl('redis+sentinel://:hunter2@s1,[::1]:26380/mymaster/1')).toBe(
      'redis+sentinel://***@s1:26379,[::1]:26380/mymaster/1',
    );
    expect(redactRedisUrl('redis+sentinel://s1:26379/mymaster')).toBe(
      'redis+sentinel://s1:26379/mymaster',
    );
    expect(redactRedisUrl('redis+sentinel://:hunter2@bad host/x')).not.toContain('hunter2');
  });
});

describe('redis message formats', () => {
  test('a publication survives the trip, spaces and all', () => {
    const wire = encodePublication(12, 'abc123', ' a b \n c ');
    expect(decodePublication('/x', wire)).toEqual({
      channel: '/x',
      offset: 12,
      epoch: 'abc123',
      data: ' a b \n c ',
    });
    expect(decodePublication('/x', encodePublication(1, 'e', ''))).toMatchObject({ data: '' });
    expect(decodePublication('/x', 'garbage')).toBeUndefined();
    expect(decodePublication('/x', '0 e d')).toBeUndefined();
    expect(decodeClientMessage(encodeClientMessage('a-1', 'hi there'))).toEqual({
      clientId: 'a-1',
      data: 'hi there',
    });
  });

  test('both keys of a channel share one cluster hash slot', () => {
    expect(channelKeys('p:', '/news')).toEqual({
      meta: 'p:{/news}:meta',
      stream: 'p:{/news}:stream',
    });
  });
});

describe('history answer', () => {
  const kept = {
    epoch: 'e',
    offset: 10,
    firstKept: 6,
    after: [8, 7, 9, 10].map((offset) => ({
      channel: '/c',
      offset,
      epoch: 'e',
      data: `${offset}`,
    })),
  };
  test.each([
    [5, 'e', { recovered: true }],
    [6, 'e', { recovered: true }],
    [4, 'e', { recovered: false, reason: 'offset too old' }],
    [11, 'e', { recovered: false, reason: 'offset ahead' }],
    [6, 'f', { recovered: false, reason: 'epoch changed' }],
  ])('since %d in epoch %s', (since, epoch, expected) => {
    expect(answerHistory(kept, since, epoch, true)).toMatchObject({
      ...expected,
      epoch: 'e',
      offset: 10,
    });
  });

  test('publications after since, in offset order', () => {
    const result = answerHistory(kept, 6, 'e', true);
    expect(result.recovered && result.publications.map((p) => p.offset)).toEqual([7, 8, 9, 10]);
    expect(answerHistory(kept, 6, 'e', false)).toMatchObject({ reason: 'history off' });
  });
});
