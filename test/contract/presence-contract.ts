import type { PresenceEntry, PresenceStore } from '../../src/master/presence/types';
import { waitFor } from '../helpers/wait';

/**
 * The presence contract: what the master may rely on from any presence store. Each
 * store's test file calls `presenceContract` once with a harness.
 */
export interface PresenceHarness {
  /** A store of this kind for instance `instanceId`, ready for use. */
  create(instanceId: string): Promise<PresenceStore>;
  /** Another instance's store sharing the backplane; undefined for a store without one. */
  peer?(instanceId: string): Promise<PresenceStore>;
}

let serial = 0;

/** An entry of `instance` on `channel`, connected `since` (seconds after a base time). */
export function entry(
  instance: string,
  channel: string,
  since = 0,
  extra: Partial<PresenceEntry> = {},
): PresenceEntry {
  serial++;
  return {
    client: `${instance}-${serial}`,
    channel,
    user: null,
    instance,
    since: new Date(Date.UTC(2026, 0, 1) + since * 1000).toISOString(),
    transport: 'websocket',
    ...extra,
  };
}

export function presenceContract(name: string, makeHarness: () => PresenceHarness): void {
  describe(`${name} (presence contract)`, () => {
    let harness: PresenceHarness;
    const stores: PresenceStore[] = [];
    const create = async (instance: string): Promise<PresenceStore> => {
      const store = await harness.create(instance);
      stores.push(store);
      return store;
    };
    // Channels of their own per test: a shared backplane keeps what others wrote.
    let channel: string;
    let count = 0;
    beforeEach(() => {
      harness = makeHarness();
      channel = `/presence-contract/${process.pid}-${++count}`;
    });
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
    });

    test('a joined client is listed with its user, instance, since and transport', async () => {
      const store = await create('one');
      const ann = entry('one', channel, 1, { user: 'ann', transport: 'sse' });
      store.join(ann);
      expect(await store.list(channel)).toEqual([ann]);
      expect(await store.list(`${channel}/other`)).toEqual([]);
    });

    test('a client that left is no longer listed; its channel is empty again', async () => {
      const store = await create('one');
      const [a, b] = [entry('one', channel, 1), entry('one', channel, 2)];
      store.join(a);
      store.join(b);
      store.leave(a);
      expect(await store.list(channel)).toEqual([b]);
      store.leave(b);
      store.leave(b);
      expect(await store.list(channel)).toEqual([]);
    });

    test('clients are listed oldest first', async () => {
      const store = await create('one');
      const late = entry('one', channel, 30);
      const early = entry('one', channel, 10);
      store.join(late);
      store.join(early);
      expect(await store.list(channel)).toEqual([early, late]);
    });

    test('every instance on the backplane lists every instance’s clients', async () => {
      if (harness.peer === undefined) return; // one instance: nothing more to hold
      const one = await create('one');
      const two = await harness.peer('two');
      stores.push(two);
      const [a, b] = [entry('one', channel, 1), entry('two', channel, 2)];
      one.join(a);
      two.join(b);
      for (const store of [one, two]) {
        await waitFor(
          async () => (await store.list(channel)).length === 2,
          'both instances listed',
        );
        expect(await store.list(channel)).toEqual([a, b]);
      }
      two.leave(b);
      await waitFor(async () => (await one.list(channel)).length === 1, 'the leave seen');
      expect(await one.list(channel)).toEqual([a]);
    });
  });
}
