import { BROADCAST_CHANNEL } from '../../src/shared/channel-name';
import {
  BrokerClosedError,
  IdempotencyKeyReusedError,
  InvalidChannelError,
  InvalidClientIdError,
  type Broker,
  type BrokerState,
  type DirectMessage,
  type Publication,
  type PublishResult,
} from '../../src/master/broker/types';
import { Conditions, waitFor } from '../helpers/wait';

/**
 * The broker contract: what the master may rely on from any broker. Each
 * implementation's test file calls `brokerContract` once with a harness.
 */
export interface BrokerHarness {
  /** The state a ready broker of this kind shows. */
  readyState: BrokerState;
  /** A broker ready for use (Redis: 'up'), with these options. */
  create(options: {
    instanceId?: string;
    history?: { size?: number; ttlMs?: number };
    idempotencyWindowMs?: number;
  }): Promise<Broker>;
  /**
   * Loses all history the way this backend can (memory: a restart, Redis: FLUSHALL);
   * resolves with the broker to go on with (a new one, or the same).
   */
  loseHistory(broker: Broker): Promise<Broker>;
  /**
   * Another instance on the same backplane as `broker`, ready; undefined for a kind
   * that has no backplane (memory: there is no other instance).
   */
  peer?(broker: Broker, instanceId: string): Promise<Broker>;
}

/** What a broker delivered, with waits on it. */
export class Recorder {
  readonly publications: Publication[] = [];
  readonly clientMessages: DirectMessage[] = [];
  private readonly conditions = new Conditions();

  constructor(broker: Broker) {
    broker.on('publication', (publication) => {
      this.publications.push(publication);
      this.conditions.wake();
    });
    broker.on('clientMessage', (message) => {
      this.clientMessages.push(message);
      this.conditions.wake();
    });
  }

  on(channel: string): Publication[] {
    return this.publications.filter((publication) => publication.channel === channel);
  }

  until(condition: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
    return this.conditions.until(condition, what, timeoutMs, () =>
      `; got ${JSON.stringify(this.publications.map((p) => [p.channel, p.offset]))}`.slice(0, 2000),
    );
  }

  /** Waits for `count` publications on a channel. */
  async next(channel: string, count = 1): Promise<Publication[]> {
    await this.until(() => this.on(channel).length >= count, `${count} on ${channel}`);
    return this.on(channel);
  }
}

export function brokerContract(name: string, makeHarness: () => BrokerHarness): void {
  describe(`broker contract: ${name}`, () => {
    const harness = makeHarness();
    const brokers: Broker[] = [];
    const create = async (
      options: Parameters<BrokerHarness['create']>[0] = {},
    ): Promise<Broker> => {
      const broker = await harness.create(options);
      brokers.push(broker);
      return broker;
    };

    afterEach(async () => {
      await Promise.all(brokers.splice(0).map((broker) => broker.close()));
    });

    test('a ready broker shows its state', async () => {
      const broker = await create();
      expect(broker.state).toBe(harness.readyState);
    });

    test('offsets count from 1 in each channel, in one epoch', async () => {
      const broker = await create();
      const a: PublishResult[] = [];
      for (let i = 0; i < 3; i += 1) a.push(await broker.publish('/a', `a${i}`));
      const b = [await broker.publish('/b', 'b0'), await broker.publish('/b', 'b1')];
      expect(a.map((r) => r.offset)).toEqual([1, 2, 3]);
      expect(b.map((r) => r.offset)).toEqual([1, 2]);
      expect(new Set(a.map((r) => r.epoch)).size).toBe(1);
      expect(a[0].epoch).toMatch(/^\S+$/);
    });

    test('a subscriber gets each publication of its channel once, in order, data intact', async () => {
      const broker = await create();
      const recorder = new Recorder(broker);
      await broker.subscribe('/news');
      const payloads = ['one', '', 'two words', 'line\nbreak \r\n', 'é ✓ 🎉', 'x'.repeat(100_000)];
      const results: PublishResult[] = [];
      for (const data of payloads) results.push(await broker.publish('/news', data));
      const got = await recorder.next('/news', payloads.length);
      expect(got).toEqual(
        payloads.map((data, i) => ({
          channel: '/news',
          offset: results[i].offset,
          epoch: results[i].epoch,
          data,
        })),
      );
    });

    test('a channel nobody subscribed to is not delivered; the broadcast channel always is', async () => {
      const broker = await create();
      const recorder = new Recorder(broker);
      await broker.subscribe('/mine');
      await broker.publish('/other', 'not for us');
      await broker.publish(BROADCAST_CHANNEL, 'to all');
      await broker.publish('/mine', 'sentinel');
      await recorder.next('/mine');
      expect(recorder.on('/other')).toEqual([]);
      expect(recorder.on(BROADCAST_CHANNEL).map((p) => p.data)).toEqual(['to all']);
    });

    test('subscriptions are counted: the last unsubscribe stops delivery', async () => {
      const broker = await create();
      const recorder = new Recorder(broker);
      await broker.subscribe('/sentinel');
      await broker.subscribe('/shared');
      await broker.subscribe('/shared');
      await broker.unsubscribe('/shared');
      await broker.publish('/shared', 'still one user');
      await recorder.next('/shared');
      await broker.unsubscribe('/shared');
      await broker.unsubscribe('/shared'); // one too many: harmless
      await broker.publish('/shared', 'nobody');
      await broker.publish('/sentinel', 'after');
      await recorder.next('/sentinel');
      expect(recorder.on('/shared').map((p) => p.data)).toEqual(['still one user']);
    });

    test('history after an offset: the rest of the epoch, or the reason why not', async () => {
      const broker = await create({ history: { size: 10 } });
      await broker.subscribe('/h');
      let epoch = '';
      for (let i = 1; i <= 5; i += 1) epoch = (await broker.publish('/h', `p${i}`)).epoch;
      expect(await broker.history('/h', 2, epoch)).toEqual({
        recovered: true,
        epoch,
        offset: 5,
        publications: [3, 4, 5].map((offset) => ({
          channel: '/h',
          offset,
          epoch,
          data: `p${offset}`,
        })),
      });
      expect(await broker.history('/h', 5, epoch)).toEqual({
        recovered: true,
        epoch,
        offset: 5,
        publications: [],
      });
      expect(await broker.history('/h', 0, epoch)).toMatchObject({ recovered: true });
      expect(await broker.history('/h', 2, 'not-the-epoch')).toEqual({
        recovered: false,
        reason: 'epoch changed',
        epoch,
        offset: 5,
      });
      expect(await broker.history('/h', 9, epoch)).toMatchObject({
        recovered: false,
        reason: 'offset ahead',
      });
      await expect(broker.history('/h', -1, epoch)).rejects.toThrow(RangeError);
      await expect(broker.history('/h', 1.5, epoch)).rejects.toThrow(RangeError);
    });

    test('a channel with no publication yet recovers from offset 0 in its epoch', async () => {
      const broker = await create();
      await broker.subscribe('/quiet');
      const first = await broker.history('/quiet', 0, 'unknown');
      expect(first).toMatchObject({ recovered: false, reason: 'epoch changed', offset: 0 });
      expect(await broker.history('/quiet', 0, first.epoch)).toEqual({
        recovered: true,
        epoch: first.epoch,
        offset: 0,
        publications: [],
      });
      expect(await broker.publish('/quiet', 'first')).toEqual({ offset: 1, epoch: first.epoch });
    });

    test('history keeps the last N publications: older offsets are too old', async () => {
      const broker = await create({ history: { size: 3 } });
      await broker.subscribe('/n');
      let epoch = '';
      for (let i = 1; i <= 6; i += 1) epoch = (await broker.publish('/n', `p${i}`)).epoch;
      const recovered = await broker.history('/n', 3, epoch);
      expect(recovered.recovered && recovered.publications.map((p) => p.offset)).toEqual([4, 5, 6]);
      for (const since of [0, 1]) {
        expect(await broker.history('/n', since, epoch)).toEqual({
          recovered: false,
          reason: 'offset too old',
          epoch,
          offset: 6,
          firstKept: 4,
        });
      }
    });

    test('history older than the TTL is gone', async () => {
      const broker = await create({ history: { size: 10, ttlMs: 300 } });
      await broker.subscribe('/ttl');
      const { epoch } = await broker.publish('/ttl', 'soon gone');
      expect(await broker.history('/ttl', 0, epoch)).toMatchObject({ recovered: true });
      await waitFor(
        async () => {
          const result = await broker.history('/ttl', 0, epoch);
          return !result.recovered && result.reason === 'offset too old';
        },
        'the publication to expire',
        10000,
        50,
      );
      const next = await broker.publish('/ttl', 'fresh');
      expect(next).toEqual({ offset: 2, epoch });
      const result = await broker.history('/ttl', 1, epoch);
      expect(result.recovered && result.publications.map((p) => p.data)).toEqual(['fresh']);
    });

    test('history off: offsets still count, recovery says so', async () => {
      const broker = await create({ history: { size: 0 } });
      await broker.subscribe('/off');
      await broker.publish('/off', 'a');
      const { offset, epoch } = await broker.publish('/off', 'b');
      expect(offset).toBe(2);
      expect(await broker.history('/off', 1, epoch)).toEqual({
        recovered: false,
        reason: 'history off',
        epoch,
        offset: 2,
      });
    });

    test('history lost (restart, FLUSHALL): a new epoch, offsets from 1 again', async () => {
      let broker = await create({ history: { size: 10 } });
      await broker.subscribe('/lost');
      await broker.publish('/lost', 'a');
      const old = await broker.publish('/lost', 'b');
      broker = await harness.loseHistory(broker);
      if (!brokers.includes(broker)) brokers.push(broker);
      await broker.subscribe('/lost');
      const result = await broker.history('/lost', old.offset, old.epoch);
      expect(result).toMatchObject({ recovered: false, reason: 'epoch changed', offset: 0 });
      expect(result.epoch).not.toBe(old.epoch);
      expect(await broker.publish('/lost', 'c')).toEqual({ offset: 1, epoch: result.epoch });
    });

    test('a client-directed message reaches the instance that owns the id', async () => {
      const broker = await create({ instanceId: 'box-1.a' });
      const recorder = new Recorder(broker);
      expect(broker.instanceId).toBe('box-1.a');
      expect(await broker.publishToClient('box-1.a-7', 'for seven')).toBe(true);
      await recorder.until(() => recorder.clientMessages.length === 1, 'the client message');
      expect(recorder.clientMessages).toEqual([{ clientId: 'box-1.a-7', data: 'for seven' }]);
      expect(await broker.publishToClient('nobody-here-3', 'lost')).toBe(false);
      for (const bad of ['7', 'box-1.a-', 'box-1.a-0', 'box 1-2', '-3']) {
        await expect(broker.publishToClient(bad, 'x')).rejects.toThrow(InvalidClientIdError);
      }
    });

    test('a name that is not a normalised channel is refused', async () => {
      const broker = await create();
      for (const bad of ['news', '/news/', '/a//b', '/../x', '', '/a b']) {
        await expect(broker.publish(bad, 'x')).rejects.toThrow(InvalidChannelError);
        await expect(broker.subscribe(bad)).rejects.toThrow(InvalidChannelError);
        await expect(broker.history(bad, 0, 'e')).rejects.toThrow(InvalidChannelError);
      }
    });

    test('many publications at once: distinct offsets, delivered in offset order', async () => {
      const broker = await create({ history: { size: 1000 } });
      const recorder = new Recorder(broker);
      await broker.subscribe('/burst');
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => broker.publish('/burst', `m${i}`)),
      );
      expect(results.map((r) => r.offset).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      const got = await recorder.next('/burst', 200);
      expect(got.map((p) => p.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const byOffset = new Map(results.map((r, i) => [r.offset, `m${i}`]));
      for (const publication of got)
        expect(publication.data).toBe(byOffset.get(publication.offset));
    });

    test('an idempotency key: a retry answers the first offset and epoch, delivered once', async () => {
      const broker = await create();
      const recorder = new Recorder(broker);
      await broker.subscribe('/idem');
      const first = await broker.publish('/idem', 'once', { idempotencyKey: 'order-42' });
      expect(first).toEqual({ offset: 1, epoch: first.epoch });
      const again = await broker.publish('/idem', 'once', { idempotencyKey: 'order-42' });
      expect(again).toEqual({ offset: 1, epoch: first.epoch, replayed: true });
      // The key belongs to its channel; other data under it is a client's mistake.
      expect(await broker.publish('/other', 'once', { idempotencyKey: 'order-42' })).toEqual({
        offset: 1,
        epoch: expect.any(String) as string,
      });
      await expect(
        broker.publish('/idem', 'something else', { idempotencyKey: 'order-42' }),
      ).rejects.toThrow(IdempotencyKeyReusedError);
      await expect(broker.publish('/idem', 'x', { idempotencyKey: 'has space' })).rejects.toThrow(
        RangeError,
      );
      const next = await broker.publish('/idem', 'next');
      expect(next.offset).toBe(2);
      await recorder.next('/idem', 2);
      expect(recorder.on('/idem').map((p) => [p.offset, p.data])).toEqual([
        [1, 'once'],
        [2, 'next'],
      ]);
      const history = await broker.history('/idem', 0, first.epoch);
      expect(history.recovered && history.publications.map((p) => p.data)).toEqual([
        'once',
        'next',
      ]);
    });

    test('one key published concurrently is published once', async () => {
      const broker = await create();
      const recorder = new Recorder(broker);
      await broker.subscribe('/race');
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          broker.publish('/race', 'same', { idempotencyKey: 'k-race' }),
        ),
      );
      expect(new Set(results.map((r) => `${r.epoch}/${r.offset}`)).size).toBe(1);
      expect(results.filter((r) => r.replayed !== true)).toHaveLength(1);
      await broker.publish('/race', 'sentinel');
      await recorder.next('/race', 2);
      expect(recorder.on('/race').map((p) => p.data)).toEqual(['same', 'sentinel']);
    });

    test('an idempotency key is forgotten after its window', async () => {
      const broker = await create({ idempotencyWindowMs: 200 });
      const first = await broker.publish('/window', 'a', { idempotencyKey: 'k1' });
      expect(await broker.publish('/window', 'a', { idempotencyKey: 'k1' })).toMatchObject({
        offset: first.offset,
        replayed: true,
      });
      await waitFor(
        async () =>
          (await broker.publish('/window', 'a', { idempotencyKey: 'k1' })).replayed !== true,
        'the key to expire',
        10000,
        50,
      );
    });

    test('a message to the other instances reaches each of them once, never the sender', async () => {
      const broker = await create({ instanceId: 'box-a' });
      const own: string[] = [];
      broker.on('instanceMessage', (message) => own.push(message));
      await broker.toOtherInstances('{"type":"disconnect","user":"42"}');
      if (harness.peer === undefined) {
        await new Promise((resolve) => setImmediate(resolve));
        expect(own).toEqual([]);
        return;
      }
      const peer = await harness.peer(broker, 'box-b');
      brokers.push(peer);
      const got: string[] = [];
      peer.on('instanceMessage', (message) => got.push(message));
      await broker.toOtherInstances('second');
      await waitFor(() => got.length === 1, 'the message at the other instance');
      // Sent after the sender's own message: once it has arrived, the sender's would have.
      await peer.toOtherInstances('back');
      await waitFor(() => own.length === 1, 'the answer at the sender');
      expect(own).toEqual(['back']);
      expect(got).toEqual(['second']);
    });

    test('a notice reaches the other instances subscribed to its channel once, takes no offset', async () => {
      const broker = await create({ instanceId: 'box-a' });
      const own: string[] = [];
      broker.on('notice', (_channel, data) => own.push(data));
      await broker.subscribe('/lobby');
      await broker.notify('/lobby', 'alone');
      await expect(broker.notify('no/slash', 'x')).rejects.toThrow(InvalidChannelError);
      if (harness.peer === undefined) {
        await new Promise((resolve) => setImmediate(resolve));
        expect(own).toEqual([]);
        expect((await broker.publish('/lobby', 'first')).offset).toBe(1);
        return;
      }
      const peer = await harness.peer(broker, 'box-b');
      brokers.push(peer);
      const got: [string, string][] = [];
      peer.on('notice', (channel, data) => got.push([channel, data]));
      const publications = new Recorder(peer);
      await peer.subscribe('/lobby');
      await broker.notify('/elsewhere', 'not subscribed');
      await broker.notify('/lobby', '{"type":"join"}');
      await waitFor(() => got.length === 1, 'the notice at the other instance');
      // Sent after the notice: once it has arrived, a duplicate would have.
      await peer.notify('/lobby', 'back');
      await waitFor(() => own.length === 1, 'the answer at the sender');
      expect(own).toEqual(['back']);
      expect(got).toEqual([['/lobby', '{"type":"join"}']]);
      expect(publications.publications).toEqual([]);
      expect((await broker.publish('/lobby', 'first')).offset).toBe(1);
    });

    test('after close, publishing is refused; close twice is fine', async () => {
      const broker = await create();
      await broker.close();
      await expect(broker.toOtherInstances('late')).rejects.toThrow(BrokerClosedError);
      await expect(broker.publish('/x', 'late')).rejects.toThrow(BrokerClosedError);
      await expect(broker.publishToClient(`${broker.instanceId}-1`, 'late')).rejects.toThrow(
        BrokerClosedError,
      );
      await broker.close();
    });
  });
}
