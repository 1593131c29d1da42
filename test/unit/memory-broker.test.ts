import { MemoryBroker } from '../../src/master/broker/memory-broker';
import { ENTRY_OVERHEAD } from '../../src/master/broker/memory-history';
import { brokerContract, Recorder } from '../contract/broker-contract';

brokerContract('MemoryBroker', () => ({
  readyState: 'off',
  create: ({ instanceId = 'mem-1', history = {}, idempotencyWindowMs }) =>
    Promise.resolve(new MemoryBroker({ instanceId, history, idempotencyWindowMs })),
  loseHistory: async (broker) => {
    await broker.close();
    return new MemoryBroker({ instanceId: broker.instanceId });
  },
}));

describe('MemoryBroker memory stays bounded', () => {
  const brokers: MemoryBroker[] = [];
  const make = (
    history: ConstructorParameters<typeof MemoryBroker>[0]['history'],
    now?: () => number,
  ) => {
    const broker = new MemoryBroker({ instanceId: 'mem-1', history, now });
    brokers.push(broker);
    return broker;
  };
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((broker) => broker.close()));
  });

  test('publishing to ever new channels keeps at most maxChannels channels of history', async () => {
    const broker = make({ size: 10, maxChannels: 50 });
    for (let i = 0; i < 5000; i += 1) await broker.publish(`/c${i}`, 'x');
    const stats = broker.stats();
    expect(stats.channelsWithHistory).toBe(50);
    expect(stats.channels).toBe(50);
    expect(stats.publications).toBe(50);
    // The most recently published ones stay; the least recently published are gone.
    expect(
      await broker.history('/c4999', 0, (await broker.publish('/c4999', 'y')).epoch),
    ).toMatchObject({
      recovered: true,
    });
  });

  test('history in total stays within maxBytes, dropping least recently published channels', async () => {
    const maxBytes = 100_000;
    const broker = make({ size: 1000, maxBytes, maxChannels: 100_000 });
    await broker.subscribe('/old');
    const old = await broker.publish('/old', 'o'.repeat(1000));
    const data = 'd'.repeat(900);
    for (let i = 0; i < 2000; i += 1) {
      await broker.publish(`/ch${i % 300}`, data);
      expect(broker.stats().bytes).toBeLessThanOrEqual(maxBytes);
    }
    const stats = broker.stats();
    expect(stats.bytes).toBeGreaterThan(maxBytes - 2 * (900 + ENTRY_OVERHEAD));
    expect(stats.publications).toBe(stats.bytes / (900 + ENTRY_OVERHEAD));
    // A subscribed channel whose history was dropped keeps its counter: "too old".
    expect(await broker.history('/old', 0, old.epoch)).toMatchObject({
      recovered: false,
      reason: 'offset too old',
      offset: 1,
    });
  });

  test('one channel over maxBytes loses its oldest publications first', async () => {
    const broker = make({ size: 1000, maxBytes: 10 * (100 + ENTRY_OVERHEAD) });
    await broker.subscribe('/big');
    let epoch = '';
    for (let i = 1; i <= 25; i += 1) epoch = (await broker.publish('/big', 'b'.repeat(100))).epoch;
    const result = await broker.history('/big', 15, epoch);
    expect(result.recovered && result.publications.map((p) => p.offset)).toEqual([
      16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    ]);
    expect(await broker.history('/big', 14, epoch)).toMatchObject({ reason: 'offset too old' });
  });

  test('a publication larger than maxBytes is delivered, not kept: clients behind it are told', async () => {
    const broker = make({ size: 10, maxBytes: 1000 });
    const recorder = new Recorder(broker);
    await broker.subscribe('/huge');
    const first = await broker.publish('/huge', 'small');
    await broker.publish('/huge', 'h'.repeat(2000));
    await recorder.next('/huge', 2);
    expect(broker.stats().bytes).toBe(0);
    expect(await broker.history('/huge', first.offset, first.epoch)).toMatchObject({
      recovered: false,
      reason: 'offset too old',
    });
    expect(await broker.history('/huge', 2, first.epoch)).toMatchObject({ recovered: true });
  });

  test('a channel with no subscriber and no history costs nothing', async () => {
    const broker = make({ size: 0 });
    await broker.subscribe('/a');
    await broker.publish('/a', 'x');
    for (let i = 0; i < 1000; i += 1) await broker.publish(`/gone${i}`, 'x');
    expect(broker.stats()).toEqual({
      channels: 1,
      channelsWithHistory: 0,
      publications: 0,
      bytes: 0,
      subscribedChannels: 1,
    });
    await broker.unsubscribe('/a');
    expect(broker.stats().channels).toBe(0);
  });

  test('expired history is swept from idle channels (clock injected)', async () => {
    let now = 1_000_000;
    const broker = make({ size: 10, ttlMs: 1000 }, () => now);
    for (let i = 0; i < 100; i += 1) await broker.publish(`/idle${i}`, 'x');
    await broker.publish('/busy', 'x');
    now += 500;
    await broker.publish('/busy', 'y');
    now += 600;
    // What the broker's timer does: the 100 idle channels' history is past the TTL.
    (broker as unknown as { store: { sweep(): void } }).store.sweep();
    expect(broker.stats()).toMatchObject({ channels: 1, channelsWithHistory: 1, publications: 1 });
  });

  test('bad limits are refused at construction', () => {
    expect(() => make({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => make({ size: -1 })).toThrow(RangeError);
    expect(() => make({ ttlMs: 0.5 })).toThrow(RangeError);
    expect(() => new MemoryBroker({ instanceId: 'bad id' })).toThrow(RangeError);
  });
});
