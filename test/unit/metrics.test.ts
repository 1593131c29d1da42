import { register as globalRegistry } from 'prom-client';
import { closeCodeLabel, Metrics, outcomeLabel } from '../../src/master/observability/metrics';
import { residentBytes, WorkerMemory } from '../../src/master/observability/worker-memory';
import { promtoolCheck, sample } from '../helpers/metrics';

const idle = { clients: 0, channels: 0, workers: { idle: 0, serving: 0, starting: 0 } };

describe('metrics of the master', () => {
  test('the exposition passes promtool check metrics with no output at all', async () => {
    const metrics = new Metrics({ workerPids: () => [process.pid] });
    metrics.connection('upgraded');
    metrics.connection(503);
    metrics.disconnect(1000, 'client');
    metrics.disconnect(undefined, 'server');
    metrics.workerStarted(0.15);
    metrics.firstPush(0.01);
    metrics.published(3);
    metrics.framesSent(7);
    metrics.setBackplaneUp(true);
    metrics.setGauges({ clients: 2, channels: 1, workers: { idle: 2, serving: 2, starting: 1 } });
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const result = await promtoolCheck(body);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  test('names follow the conventions: prefix, units, _total on counters only, help text', async () => {
    const { body } = await new Metrics({ workerPids: () => [] }).render();
    const types = new Map(
      [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]),
    );
    const helps = new Map(
      [...body.matchAll(/^# HELP (\S+) (.*)$/gm)].map((match) => [match[1], match[2]]),
    );
    const ours = [...types.keys()].filter((name) => name.startsWith('push_websocket_'));
    expect(ours.sort()).toEqual([
      'push_websocket_backplane_up',
      'push_websocket_channels',
      'push_websocket_clients',
      'push_websocket_connections_total',
      'push_websocket_disconnects_total',
      'push_websocket_first_push_seconds',
      'push_websocket_frames_sent_total',
      'push_websocket_hook_runs_total',
      'push_websocket_limit_kills_total',
      'push_websocket_published_messages_total',
      'push_websocket_refusals_total',
      'push_websocket_worker_memory_bytes',
      'push_websocket_worker_start_seconds',
      'push_websocket_workers',
    ]);
    for (const [name, type] of types) {
      expect([name, (helps.get(name) ?? '').length > 10]).toEqual([name, true]);
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (type === 'histogram') expect(name).toMatch(/_seconds$/);
    }
    // The master's own process metrics come along.
    expect(types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  test('values follow the calls', async () => {
    const metrics = new Metrics({ workerPids: () => [], defaultMetrics: false });
    let { body } = await metrics.render();
    expect(sample(body, 'push_websocket_connections_total{outcome="upgraded"}')).toBe(0);
    expect(sample(body, 'push_websocket_workers{state="idle"}')).toBe(0);
    expect(sample(body, 'push_websocket_backplane_up')).toBe(0);

    metrics.connection('upgraded');
    metrics.connection('upgraded');
    metrics.connection(503);
    metrics.connection(400);
    metrics.disconnect(1000, 'client');
    metrics.disconnect(1000, 'client');
    metrics.disconnect(1001, 'server');
    metrics.disconnect(4321, 'client');
    metrics.workerStarted(0.12);
    metrics.workerStarted(3);
    metrics.firstPush(0.004);
    metrics.published();
    metrics.published(4);
    metrics.framesSent(10);
    metrics.setBackplaneUp(true);
    metrics.setGauges({ clients: 5, channels: 2, workers: { idle: 2, serving: 5, starting: 1 } });
    ({ body } = await metrics.render());

    expect(sample(body, 'push_websocket_connections_total{outcome="upgraded"}')).toBe(2);
    expect(sample(body, 'push_websocket_connections_total{outcome="503"}')).toBe(1);
    expect(sample(body, 'push_websocket_connections_total{outcome="400"}')).toBe(1);
    expect(sample(body, 'push_websocket_disconnects_total{code="1000",side="client"}')).toBe(2);
    expect(sample(body, 'push_websocket_disconnects_total{code="1001",side="server"}')).toBe(1);
    expect(sample(body, 'push_websocket_disconnects_total{code="4xxx",side="client"}')).toBe(1);
    expect(sample(body, 'push_websocket_worker_start_seconds_count')).toBe(2);
    expect(sample(body, 'push_websocket_worker_start_seconds_bucket{le="0.15"}')).toBe(1);
    expect(sample(body, 'push_websocket_worker_start_seconds_bucket{le="5"}')).toBe(2);
    expect(sample(body, 'push_websocket_worker_start_seconds_sum')).toBeCloseTo(3.12);
    expect(sample(body, 'push_websocket_first_push_seconds_bucket{le="0.005"}')).toBe(1);
    expect(sample(body, 'push_websocket_published_messages_total')).toBe(5);
    expect(sample(body, 'push_websocket_frames_sent_total')).toBe(10);
    expect(sample(body, 'push_websocket_backplane_up')).toBe(1);
    expect(sample(body, 'push_websocket_clients')).toBe(5);
    expect(sample(body, 'push_websocket_channels')).toBe(2);
    expect(sample(body, 'push_websocket_workers{state="idle"}')).toBe(2);
    expect(sample(body, 'push_websocket_workers{state="serving"}')).toBe(5);
    expect(sample(body, 'push_websocket_workers{state="starting"}')).toBe(1);

    metrics.setBackplaneUp(false);
    metrics.setGauges(idle);
    ({ body } = await metrics.render());
    expect(sample(body, 'push_websocket_backplane_up')).toBe(0);
    expect(sample(body, 'push_websocket_clients')).toBe(0);
  });

  test('with a snapshot function the gauges are read at each scrape', async () => {
    let clients = 1;
    const metrics = new Metrics({
      workerPids: () => [],
      defaultMetrics: false,
      snapshot: () => ({
        clients,
        channels: clients,
        workers: { idle: 1, serving: clients, starting: 0 },
      }),
    });
    expect(sample((await metrics.render()).body, 'push_websocket_clients')).toBe(1);
    clients = 3;
    const { body } = await metrics.render();
    expect(sample(body, 'push_websocket_clients')).toBe(3);
    expect(sample(body, 'push_websocket_channels')).toBe(3);
    expect(sample(body, 'push_websocket_workers{state="serving"}')).toBe(3);
  });

  test('a private registry: two instances live side by side, the global registry stays empty', async () => {
    const first = new Metrics({ workerPids: () => [] });
    const second = new Metrics({ workerPids: () => [] });
    first.published(2);
    expect(sample((await second.render()).body, 'push_websocket_published_messages_total')).toBe(0);
    expect(await globalRegistry.metrics()).toBe('\n');
  });

  test('labels stay bounded whatever a client sends', () => {
    expect(closeCodeLabel(1000)).toBe('1000');
    expect(closeCodeLabel(undefined)).toBe('1006');
    expect(closeCodeLabel(3001)).toBe('3xxx');
    expect(closeCodeLabel(4999)).toBe('4xxx');
    expect(closeCodeLabel(5000)).toBe('other');
    expect(closeCodeLabel(999)).toBe('other');
    expect(closeCodeLabel(1000.5)).toBe('other');
    expect(outcomeLabel('upgraded')).toBe('upgraded');
    expect(outcomeLabel(431)).toBe('431');
    expect(outcomeLabel(99)).toBe('other');
    expect(outcomeLabel(Number.NaN)).toBe('other');
  });
});

describe('workers memory', () => {
  test('VmRSS of a status text, in bytes', () => {
    expect(
      residentBytes('Name:\tnode\nVmPeak:\t  100 kB\nVmRSS:\t   52344 kB\nRssAnon:\t 1 kB\n'),
    ).toBe(52344 * 1024);
    expect(residentBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBeUndefined();
  });

  test('the sum of live processes read from /proc; a gone pid counts 0', async () => {
    const rss = process.memoryUsage().rss;
    const memory = new WorkerMemory(() => [process.pid, 2 ** 22 + 1]);
    const bytes = await memory.bytes();
    expect(bytes).toBeGreaterThan(rss * 0.8);
    expect(bytes).toBeLessThan(rss * 1.25);
  });

  test('is read at most once per max age, and then again', async () => {
    let now = 1000;
    let pids = [process.pid];
    const memory = new WorkerMemory(
      () => pids,
      1000,
      () => now,
    );
    const first = await memory.bytes();
    pids = [process.pid, process.pid];
    now += 999;
    expect(await memory.bytes()).toBe(first);
    now += 2;
    expect(await memory.bytes()).toBeGreaterThan(first * 1.5);
  });

  test('concurrent scrapes share one pass over /proc', async () => {
    let listings = 0;
    const memory = new WorkerMemory(() => {
      listings += 1;
      return [process.pid];
    });
    const [a, b] = await Promise.all([memory.bytes(), memory.bytes()]);
    expect(a).toBe(b);
    expect(listings).toBe(1);
  });

  test('the gauge shows it at scrape time', async () => {
    const metrics = new Metrics({ workerPids: () => [process.pid], defaultMetrics: false });
    const value = sample((await metrics.render()).body, 'push_websocket_worker_memory_bytes');
    expect(value).toBeGreaterThan(process.memoryUsage().rss * 0.8);
  });
});
