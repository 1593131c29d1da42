import { childrenOf, commandLine } from '../helpers/proc';
import { RawClient, handshakeRequest } from '../helpers/raw-client';
import { startServer, stopAllServers, type ServerProcess, statusOf } from '../helpers/server';
import {
  TOKEN,
  frames,
  lastPosition,
  openOn,
  pubData,
  pubTexts as texts,
  publish,
  published,
} from '../helpers/channels';
import { waitFor } from '../helpers/wait';
import { OpenClients, type WsClient } from '../helpers/ws-client';

/** Slow demo pushes: publications are easy to tell apart. */
const SLOW = ['--interval-min', '30', '--interval-max', '30'];

describe('channels on one instance', () => {
  let server: ServerProcess;
  const opened = new OpenClients();
  const track = <T extends WsClient>(client: T): T => opened.track(client);

  beforeAll(async () => {
    server = await startServer([...SLOW, '--history', '5'], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
  });
  afterEach(() => {
    opened.terminateAll();
  });
  afterAll(stopAllServers);

  test('a publication to a channel reaches its clients only; a broadcast reaches all', async () => {
    const news = [track(await openOn(server, '/news')), track(await openOn(server, '/news/'))];
    const sport = track(await openOn(server, '/sport'));
    const root = track(await openOn(server, '/'));
    const answer = await published(server, { channel: '/news', data: 'pub:goal?' });
    expect(answer).toMatchObject({ queued: 2, channel: '/news', offset: 1 });
    expect(typeof answer.epoch).toBe('string');
    for (const client of news) await client.until((m) => m.includes('pub:goal?'), 'the news');
    await published(server, { data: 'pub:everyone' });
    for (const client of [...news, sport, root]) {
      await client.until((m) => m.includes('pub:everyone'), 'the broadcast');
    }
    expect(texts(sport)).toEqual(['pub:everyone']);
    expect(texts(root)).toEqual(['pub:everyone']);
    expect(texts(news[0])).toEqual(['pub:goal?', 'pub:everyone']);
    expect(texts(news[1])).toEqual(['pub:goal?', 'pub:everyone']);
  });

  test('a text body names its channel in the query; /status lists each client’s channel', async () => {
    const weather = track(await openOn(server, '/weather/today'));
    const response = await fetch(`${server.httpUrl}/publish?channel=/weather/today`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: 'pub:rain',
    });
    expect(response.status).toBe(200);
    await weather.until((m) => m.includes('pub:rain'), 'the rain');
    const status = await statusOf<{
      clients: { channel: string }[];
      instance: string;
      backplane: { state: string };
    }>(server);
    expect(status.clients.map((c) => c.channel)).toContain('/weather/today');
    expect(status.backplane.state).toBe('off');
    expect(status.instance).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  test.each([
    ['/a%20b', /Bad channel/],
    ['/../etc', /Bad channel/],
    ['/a//b', /Bad channel/],
    [`/${'x'.repeat(200)}`, /Bad channel/],
    ['/news?format=xml', /format/],
    ['/news?since=3', /since and epoch/],
    ['/news?since=x&epoch=abc', /since must be/],
  ])('a WebSocket request for %s gets 400 with a reason', async (target, reason) => {
    const client = await RawClient.connect(server.port);
    client.send(handshakeRequest(server.port, {}, target));
    const text = await client.responseText();
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toMatch(reason);
  });

  test('a publish to a bad channel is 400; to nobody is 200 with queued 0', async () => {
    expect((await publish(server, { channel: '/a b', data: 'x' })).status).toBe(400);
    expect(await published(server, { channel: '/empty', data: 'x' })).toMatchObject({
      queued: 0,
      channel: '/empty',
    });
  });

  test('JSON frames: position first, pushes and publications as objects', async () => {
    const client = track(await openOn(server, '/json?format=json'));
    await client.waitForMessages(3); // position, hello, first push
    const [position, hello, push] = frames(client);
    expect(position).toMatchObject({ type: 'position', channel: '/json', offset: 0 });
    expect(hello).toMatchObject({ type: 'push' });
    expect(hello.data).toMatch(/^Connected to worker PID \d+ as client #\d+$/);
    expect(push).toMatchObject({ type: 'push', data: 'I am waiting 30 seconds' });
    await published(server, { channel: '/json', data: 'one' });
    await client.until((m) => m.length >= 4, 'the publication');
    expect(frames(client)[3]).toEqual({
      type: 'pub',
      channel: '/json',
      offset: 1,
      epoch: position.epoch,
      data: 'one',
    });
  });

  test('a burst of publications, short and long, reaches text and JSON clients whole, in order, each once', async () => {
    const text = track(await openOn(server, '/burst'));
    const json = track(await openOn(server, '/burst?format=json'));
    await json.waitForMessages(2); // position, hello
    // Lengths on both sides of the 16- and 64-bit frame lengths, and longer than one read.
    const sizes = [5, 125, 126, 4000, 65535, 65536, 70000, 200000, 1, 300];
    const bodies = sizes.map((size, i) => `pub:${i}:${'b'.repeat(size)}`);
    // Sent at once: publications arrive faster than workers read them.
    const answers = await Promise.all(
      bodies.map((data) => published(server, { channel: '/burst', data })),
    );
    const order = answers
      .map((answer, i) => ({ offset: answer.offset as number, data: bodies[i] }))
      .sort((a, b) => a.offset - b.offset)
      .map((entry) => entry.data);
    await text.until(() => texts(text).length >= bodies.length, 'every publication (text)');
    await json.until(() => pubData(json).length >= bodies.length, 'every publication (JSON)');
    expect(texts(text)).toEqual(order);
    expect(pubData(json)).toEqual(order);
    const offsets = frames(json)
      .filter((frame) => frame.type === 'pub')
      .map((frame) => frame.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => (a ?? 0) - (b ?? 0)));
  });

  test('a client that comes back with since and epoch gets what it missed, once, in order, then live ones', async () => {
    const first = await openOn(server, '/recover?format=json');
    await published(server, { channel: '/recover', data: 'seen' });
    await first.until(() => pubData(first).includes('seen'), 'the first publication');
    const { offset, epoch } = lastPosition(first);
    first.terminate();
    await waitFor(async () => {
      const status = await statusOf<{
        clients: { channel: string }[];
      }>(server);
      return status.clients.every((c) => c.channel !== '/recover');
    }, 'the client to be gone');
    for (const data of ['probe', 'missed 1', 'missed 2']) {
      await published(server, { channel: '/recover', data });
    }
    const back = track(await openOn(server, `/recover?format=json&since=${offset}&epoch=${epoch}`));
    expect(frames(back)[0]).toMatchObject({ type: 'recovery', recovered: true, count: 3 });
    await back.until(() => pubData(back).length >= 3, 'the missed publications');
    await published(server, { channel: '/recover', data: 'live' });
    await back.until(() => pubData(back).includes('live'), 'the live one');
    expect(pubData(back)).toEqual(['probe', 'missed 1', 'missed 2', 'live']);
    const offsets = frames(back)
      .filter((f) => f.type === 'pub')
      .map((f) => f.offset);
    expect(offsets).toEqual([offset + 1, offset + 2, offset + 3, offset + 4]);
  });

  test('recovery says why it cannot: another epoch, an offset older than the history', async () => {
    const other = track(await openOn(server, '/why?format=json&since=0&epoch=0123abcd'));
    expect(frames(other)[0]).toMatchObject({
      type: 'recovery',
      recovered: false,
      reason: 'epoch changed',
    });
    const watcher = track(await openOn(server, '/why?format=json'));
    const { epoch } = lastPosition(watcher);
    for (let i = 1; i <= 8; i++) await published(server, { channel: '/why', data: `n${i}` });
    const late = track(await openOn(server, `/why?format=json&since=1&epoch=${epoch}`));
    expect(frames(late)[0]).toMatchObject({
      type: 'recovery',
      recovered: false,
      reason: 'offset too old',
      offset: 8,
    });
  });

  test('with --history 0 recovery says history is off', async () => {
    const bare = await startServer([...SLOW, '--history', '0'], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
    const client = track(await openOn(bare, '/x?format=json&since=1&epoch=abc'));
    expect(frames(client)[0]).toMatchObject({
      type: 'recovery',
      recovered: false,
      reason: 'history off',
    });
    await bare.stop();
  });

  test('--channel-exec: one command for the channel, run by the master, restarted when it exits', async () => {
    const script = 'i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo tick $i; sleep 0.3; done';
    const ticker = await startServer([...SLOW, '--channel-exec', `/ticker=sh -c '${script}'`]);
    const clients = [
      track(await openOn(ticker, '/ticker')),
      track(await openOn(ticker, '/ticker')),
    ];
    const other = track(await openOn(ticker, '/other'));
    for (const client of clients) {
      await client.until((m) => m.filter((x) => x.startsWith('tick')).length >= 2, 'ticks');
    }
    // The command runs under its supervisor, a child of the master.
    const commands = childrenOf(ticker.pid)
      .flatMap((child) => childrenOf(child.pid))
      .filter((c) => commandLine(c.pid)?.startsWith('sh -c'));
    expect(commands.length).toBeLessThanOrEqual(1); // one command, not one per client
    await ticker.waitForLog(
      /--channel-exec \/ticker: sh exited \(code 0, signal null\); restart in \d+ ms/,
    );
    await ticker.waitForLog(/--channel-exec \/ticker: started sh \(pid \d+\)[\s\S]*started sh/);
    expect(other.messages.some((m) => m.startsWith('tick'))).toBe(false);
    await ticker.stop();
  });
});
