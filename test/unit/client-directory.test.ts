import { ClientDirectory } from '../../src/master/clients/client-directory';
import { Worker } from '../../src/master/pool/worker';
import { FakeChild } from './fakes';

const worker = (): Worker => new Worker(new FakeChild().asChild);

describe('ClientDirectory', () => {
  it('counts handshakes in flight against --max-clients', () => {
    const directory = new ClientDirectory(2);
    const first = directory.reserve();
    const second = directory.reserve();
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(directory.load).toBe(2);
    expect(directory.size).toBe(0);
    expect(directory.reserve()).toBeUndefined();
  });

  it('a cancelled reservation frees its place, once', () => {
    const directory = new ClientDirectory(1);
    const reservation = directory.reserve();
    reservation?.cancel();
    reservation?.cancel();
    expect(directory.load).toBe(0);
    const again = directory.reserve();
    expect(again).toBeDefined();
    expect(directory.load).toBe(1);
    expect(directory.reserve()).toBeUndefined();
  });

  it('admit gives increasing ids and lists the client with its worker', () => {
    const directory = new ClientDirectory(10);
    const workers = [worker(), worker(), worker()];
    const clients = workers.map((w, index) => {
      const before = Date.now();
      const client = directory.reserve()?.admit(w, `10.0.0.${index}:5000`, '/');
      expect(client?.since.getTime()).toBeGreaterThanOrEqual(before);
      return client;
    });
    expect(clients.map((client) => client?.id)).toEqual([1, 2, 3]);
    expect(clients.map((client) => client?.remote)).toEqual([
      '10.0.0.0:5000',
      '10.0.0.1:5000',
      '10.0.0.2:5000',
    ]);
    expect(directory.size).toBe(3);
    expect(directory.load).toBe(3);
    expect(directory.worker(2)).toBe(workers[1]);
    expect(directory.workers()).toEqual(workers);
    expect(directory.worker(99)).toBeUndefined();
  });

  it('ids are never reused, not even after a client left', () => {
    const directory = new ClientDirectory(1);
    const first = directory.reserve()?.admit(worker(), 'a:1', '/');
    directory.remove(first?.id ?? 0);
    const second = directory.reserve()?.admit(worker(), 'b:2', '/');
    expect(second?.id).toBe(2);
  });

  it('a reservation admits once; a second admit throws and changes nothing', () => {
    const directory = new ClientDirectory(5);
    const reservation = directory.reserve();
    reservation?.admit(worker(), 'a:1', '/');
    expect(() => reservation?.admit(worker(), 'b:2', '/')).toThrow('reservation already used');
    expect(directory.size).toBe(1);
    expect(directory.load).toBe(1);
    // cancel after admit does not free the admitted client's place
    reservation?.cancel();
    expect(directory.load).toBe(1);
  });

  it('admit after cancel throws', () => {
    const directory = new ClientDirectory(5);
    const reservation = directory.reserve();
    reservation?.cancel();
    expect(() => reservation?.admit(worker(), 'a:1', '/')).toThrow('reservation already used');
    expect(directory.load).toBe(0);
  });

  it('remove frees a place for the next client', () => {
    const directory = new ClientDirectory(1);
    const client = directory.reserve()?.admit(worker(), 'a:1', '/');
    expect(directory.reserve()).toBeUndefined();
    directory.remove(client?.id ?? 0);
    expect(directory.worker(client?.id ?? 0)).toBeUndefined();
    expect(directory.size).toBe(0);
    expect(directory.reserve()).toBeDefined();
  });

  it('removing an unknown id changes nothing', () => {
    const directory = new ClientDirectory(2);
    directory.reserve()?.admit(worker(), 'a:1', '/');
    directory.remove(42);
    expect(directory.size).toBe(1);
  });
});
