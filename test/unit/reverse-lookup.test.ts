import { reverseLookup } from '../../workers/reverse-lookup';

describe('reverseLookup (--reverse-lookup)', () => {
  test('the loopback address is localhost, from /etc/hosts as websocketd gives it', async () => {
    expect(await reverseLookup('127.0.0.1')).toBe('localhost');
  });

  test('an address that does not resolve gives the address', async () => {
    expect(await reverseLookup('not-an-address')).toBe('not-an-address');
  });

  test('a resolver that does not answer in time gives the address', async () => {
    const silent = (): Promise<{ hostname: string }> => new Promise(() => undefined);
    expect(await reverseLookup('10.1.2.3', 50, silent)).toBe('10.1.2.3');
  });
});
