import fc from 'fast-check';
import { answerHistory } from '../../src/master/broker/history-answer';
import type { HistoryResult, Publication } from '../../src/master/broker/types';
import { RecoveringDelivery } from '../../src/master/channels/recovering-delivery';

const pub = (offset: number, epoch = 'e1', channel = '/c'): Publication => ({
  channel,
  offset,
  epoch,
  data: `${epoch}#${offset}`,
});

function delivery(since: number, epoch = 'e1') {
  const got: string[] = [];
  const d = new RecoveringDelivery('/c', { epoch, offset: since }, (p) => got.push(p.data));
  return { d, got };
}

const recovered = (offset: number, from: number, epoch = 'e1'): HistoryResult => ({
  recovered: true,
  epoch,
  offset,
  publications: Array.from({ length: offset - from }, (_, i) => pub(from + 1 + i, epoch)),
});

describe('RecoveringDelivery: history, then live, no gap and no duplicate', () => {
  test('live publications wait for history; overlaps are dropped', () => {
    const { d, got } = delivery(2);
    d.live(pub(5));
    d.live(pub(6));
    expect(got).toEqual([]);
    expect(d.pending).toBe(true);
    expect(d.history(recovered(5, 2))).toBe(true);
    expect(got).toEqual(['e1#3', 'e1#4', 'e1#5', 'e1#6']);
    d.live(pub(6)); // a late duplicate
    d.live(pub(7));
    expect(got).toEqual(['e1#3', 'e1#4', 'e1#5', 'e1#6', 'e1#7']);
    expect(d.position).toEqual({ epoch: 'e1', offset: 7 });
    expect(d.gaps).toBe(0);
  });

  test('publications read in history that arrive live afterwards are not sent twice', () => {
    const { d, got } = delivery(0);
    d.history(recovered(3, 0));
    for (const offset of [1, 2, 3, 4]) d.live(pub(offset));
    expect(got).toEqual(['e1#1', 'e1#2', 'e1#3', 'e1#4']);
  });

  test('other channels are ignored', () => {
    const { d, got } = delivery(0);
    d.history(recovered(0, 0));
    d.live(pub(1, 'e1', '/other'));
    expect(got).toEqual([]);
  });

  test('not recovered: the client goes on from the current position', () => {
    const { d, got } = delivery(1, 'old');
    d.live(pub(4, 'e2'));
    d.live(pub(5, 'e2'));
    const result: HistoryResult = {
      recovered: false,
      reason: 'epoch changed',
      epoch: 'e2',
      offset: 4,
    };
    expect(d.history(result)).toBe(false);
    expect(d.recovered).toBe(false);
    expect(got).toEqual(['e2#5']);
  });

  test('a new epoch seen live is followed; buffered ones from before the loss are dropped', () => {
    const { d, got } = delivery(0);
    d.live(pub(1, 'e1')); // before a FLUSHALL the answer already shows
    d.live(pub(1, 'e2'));
    d.history({ recovered: false, reason: 'epoch changed', epoch: 'e2', offset: 0 });
    expect(got).toEqual(['e2#1']);
    d.live(pub(1, 'e3')); // a later loss
    d.live(pub(2, 'e3'));
    expect(got).toEqual(['e2#1', 'e3#1', 'e3#2']);
    expect(d.gaps).toBe(0);
  });

  test('a hole in live offsets (a backplane outage) is counted as a gap', () => {
    const { d } = delivery(0);
    d.history(recovered(1, 0));
    d.live(pub(4));
    expect(d.gaps).toBe(1);
  });

  test('a failed history read is abandoned: publications flow from the first buffered one', () => {
    const { d, got } = delivery(2);
    d.live(pub(7));
    d.live(pub(8));
    d.abandon();
    d.live(pub(9));
    expect(got).toEqual(['e1#7', 'e1#8', 'e1#9']);
    expect(d.recovered).toBe(false);
    expect(d.gaps).toBe(0);
    const empty = delivery(2);
    empty.d.abandon();
    empty.d.live(pub(1, 'e9'));
    expect(empty.got).toEqual(['e9#1']);
  });

  test('history given twice is a bug', () => {
    const { d } = delivery(0);
    d.history(recovered(0, 0));
    expect(() => d.history(recovered(0, 0))).toThrow(/twice/);
  });
});

/**
 * A model of one broker channel set and clients that drop and come back, with the
 * network's reordering: live publications travel in a FIFO per subscription and
 * arrive at random steps; the history read happens at a random step after the
 * subscribe, and its answer arrives at a random later step.
 */
interface ModelChannel {
  name: string;
  epoch: string;
  offset: number;
  kept: Publication[];
  /** Every publication ever, across epochs: the order a client must follow. */
  all: Publication[];
}

interface Connection {
  delivery: RecoveringDelivery;
  since: { epoch: string; offset: number };
  queue: Publication[];
  read?: HistoryResult;
  answered: boolean;
  got: Publication[];
}

interface ModelClient {
  channel: number;
  position: { epoch: string; offset: number };
  connection?: Connection;
  segments: {
    recovered: boolean | undefined;
    got: Publication[];
    start: { epoch: string; offset: number };
  }[];
  seen: Publication[];
}

type Step =
  | { t: 'publish'; ch: number }
  | { t: 'lose'; ch: number }
  | { t: 'disconnect' | 'connect' | 'read' | 'answer' | 'deliver'; c: number };

const CHANNELS = 2;
const CLIENTS = 4;
const KEPT = 6;

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant('publish' as const), ch: fc.nat(CHANNELS - 1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('lose' as const), ch: fc.nat(CHANNELS - 1) }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      t: fc.constantFrom(
        'disconnect' as const,
        'connect' as const,
        'read' as const,
        'answer' as const,
        'deliver' as const,
        'deliver' as const,
      ),
      c: fc.nat(CLIENTS - 1),
    }),
  },
);

function simulate(steps: Step[], clientChannels: number[]) {
  let epochs = 0;
  /** Where each epoch begins in its channel's `all`: what offset 0 of it means. */
  const epochStart = new Map<string, number>();
  const channels: ModelChannel[] = Array.from({ length: CHANNELS }, (_, i) => ({
    name: `/ch${i}`,
    epoch: `E${(epochs += 1)}`,
    offset: 0,
    kept: [],
    all: [],
  }));
  for (const ch of channels) epochStart.set(ch.epoch, 0);
  const clients: ModelClient[] = clientChannels.map((channel) => ({
    channel,
    position: { epoch: channels[channel].epoch, offset: 0 },
    segments: [],
    seen: [],
  }));

  const run = (s: Step): void => {
    if (s.t === 'publish') {
      const ch = channels[s.ch];
      ch.offset += 1;
      const publication = {
        channel: ch.name,
        offset: ch.offset,
        epoch: ch.epoch,
        data: `${ch.epoch}#${ch.offset}`,
      };
      ch.kept = [...ch.kept, publication].slice(-KEPT);
      ch.all.push(publication);
      for (const client of clients) {
        if (client.channel === s.ch && client.connection) client.connection.queue.push(publication);
      }
      return;
    }
    if (s.t === 'lose') {
      const ch = channels[s.ch];
      Object.assign(ch, { epoch: `E${(epochs += 1)}`, offset: 0, kept: [] });
      epochStart.set(ch.epoch, ch.all.length);
      return;
    }
    const client = clients[s.c];
    const ch = channels[client.channel];
    const conn = client.connection;
    switch (s.t) {
      case 'connect': {
        if (conn) return;
        const got: Publication[] = [];
        const since = { ...client.position };
        const delivery = new RecoveringDelivery(ch.name, since, (p) => {
          got.push(p);
          client.seen.push(p);
        });
        client.connection = { delivery, since, queue: [], answered: false, got };
        return;
      }
      case 'disconnect':
        if (!conn) return;
        if (conn.answered) client.position = conn.delivery.position;
        client.segments.push({
          recovered: conn.delivery.recovered,
          got: conn.got,
          start: conn.since,
        });
        client.connection = undefined;
        return;
      case 'read':
        if (!conn || conn.read) return;
        conn.read = answerHistory(
          {
            epoch: ch.epoch,
            offset: ch.offset,
            firstKept: ch.kept[0]?.offset ?? ch.offset + 1,
            after: ch.kept.filter((p) => p.offset > conn.since.offset),
          },
          conn.since.offset,
          conn.since.epoch,
          true,
        );
        return;
      case 'answer':
        if (!conn || !conn.read || conn.answered) return;
        conn.delivery.history(conn.read);
        conn.answered = true;
        return;
      case 'deliver':
        if (!conn || conn.queue.length === 0) return;
        conn.delivery.live(conn.queue.shift() as Publication);
        return;
    }
  };

  for (const s of steps) run(s);
  // The end: every connection's read, answer and in-flight publications arrive.
  clients.forEach((client, c) => {
    if (!client.connection) return;
    for (const t of ['read', 'answer'] as const) run({ t, c });
    while (client.connection.queue.length > 0) run({ t: 'deliver', c });
    run({ t: 'disconnect', c });
    client.connection = {} as Connection; // marks "connected at the end"
  });
  return { channels, clients, epochStart };
}

test('property: whenever recovery says recovered, a client sees every publication once, in order', () => {
  const seed = Date.now() % 2 ** 31;
  console.log(`recovering-delivery property seed ${seed} (rerun: fc seed ${seed})`);
  fc.assert(
    fc.property(
      fc.array(step, { minLength: 1, maxLength: 250 }),
      fc.array(fc.nat(CHANNELS - 1), { minLength: CLIENTS, maxLength: CLIENTS }),
      (steps, clientChannels) => {
        const { channels, clients, epochStart } = simulate(steps, clientChannels);
        for (const client of clients) {
          const all = channels[client.channel].all;
          const index = new Map(all.map((p, i) => [`${p.epoch}#${p.offset}`, i]));
          const at = (p: Publication): number => index.get(`${p.epoch}#${p.offset}`) as number;
          // Always: nothing twice, nothing out of order (by the global publish order).
          const order = client.seen.map(at);
          for (let i = 1; i < order.length; i += 1) expect(order[i]).toBeGreaterThan(order[i - 1]);
          // Recovered: the connection's deliveries continue exactly where the client was.
          for (const segment of client.segments) {
            if (segment.recovered !== true) continue;
            const start =
              segment.start.offset === 0
                ? (epochStart.get(segment.start.epoch) as number)
                : (index.get(`${segment.start.epoch}#${segment.start.offset}`) as number) + 1;
            const expected = all.slice(start, start + segment.got.length);
            expect(segment.got).toEqual(expected);
          }
          // All recovered and still connected at the end: it has seen everything.
          const connectedAtEnd = client.connection !== undefined;
          if (
            connectedAtEnd &&
            client.segments.length > 0 &&
            client.segments.some((segment) => segment.recovered === true) &&
            client.segments.every((segment) => segment.recovered !== false)
          ) {
            expect(client.seen).toEqual(all);
          }
        }
      },
    ),
    { seed, numRuns: 1000 },
  );
});
