import type { ChannelEvent, PresenceEntry, PresenceStore } from '../../src/master/presence/types';
import { waitFor } from '../helpers/wait';

/**
 * The presence contract: what the master may rely on from any presence store. Each
 * store's test file calls `presenceContract` once with a harness.
 */
export interface PresenceHarness {
  /** A store of this kind for instance `instanceId`, ready for use. */
  create(instanceId: string, vacateGraceMs?: number): Promise<PresenceStore>;
  /** Another instance's store sharing the backplane; undefined for a store without one. */
  peer?(instanceId: string, vacateGraceMs?: number): Promise<PresenceStore>;
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
    const create = async (instance: string, graceMs?: number): Promise<PresenceStore> => {
      const store = await harness.create(instance, graceMs);
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

    /** Records a store's channel events as "channel event". */
    const record = (store: PresenceStore, into: string[]): void => {
      store.onChannel = (name: string, event: ChannelEvent) => into.push(`${name} ${event}`);
    };

    test('a channel is occupied by its first client, vacated once after the grace; a quick return is neither', async () => {
      const store = await create('one', 200);
      const events: string[] = [];
      record(store, events);
      const [a, b] = [entry('one', channel), entry('one', channel)];
      store.join(a);
      store.join(b);
      await waitFor(() => events.length === 1, 'occupied');
      store.leave(a);
      store.leave(b);
      await waitFor(() => events.length === 2, 'vacated');
      expect(events).toEqual([`${channel} occupied`, `${channel} vacated`]);

      events.length = 0;
      const c = entry('one', channel);
      store.join(c);
      await waitFor(() => events.length === 1, 'occupied again');
      store.leave(c);
      store.join(entry('one', channel)); // back within the grace
      // A barrier: another channel's vacate, scheduled later, comes after this one's check.
      const other = entry('one', `${channel}/barrier`);
      store.join(other);
      store.leave(other);
      await waitFor(() => events.includes(`${channel}/barrier vacated`), 'the barrier');
      expect(events.filter((event) => event.startsWith(`${channel} `))).toEqual([
        `${channel} occupied`,
      ]);
    });

    test('an adopted client (hot upgrade) is listed as a joined one, with no occupied; its leave vacates', async () => {
      const store = await create('one', 200);
      const events: string[] = [];
      record(store, events);
      const ann = entry('one', channel, 1, { user: 'ann' });
      store.adopt(ann);
      // Its write's reply (and any event) comes before the list's, on one connection.
      expect(await store.list(channel)).toEqual([ann]);
      store.leave(ann);
      await waitFor(() => events.length === 1, 'vacated');
      expect(events).toEqual([`${channel} vacated`]);
      expect(await store.list(channel)).toEqual([]);
    });

    test('across instances a channel is occupied once and vacated once', async () => {
      if (harness.peer === undefined) return; // one instance: the test above holds it
      const one = await create('one', 200);
      const two = await harness.peer('two', 200);
      stores.push(two);
      const events: string[] = [];
      record(one, events);
      record(two, events);
      const [a, b] = [entry('one', channel), entry('two', channel)];
      one.join(a);
      await waitFor(() => events.length === 1, 'occupied');
      two.join(b);
      one.leave(a);
      await waitFor(async () => (await one.list(channel)).length === 1, 'a gone');
      two.leave(b);
      await waitFor(() => events.length === 2, 'vacated');
      // Both instances' vacate checks have run by the time a later barrier's has.
      const other = entry('two', `${channel}/barrier`);
      two.join(other);
      two.leave(other);
      await waitFor(() => events.includes(`${channel}/barrier vacated`), 'the barrier');
      expect(events.filter((event) => event.startsWith(`${channel} `))).toEqual([
        `${channel} occupied`,
        `${channel} vacated`,
      ]);
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
