import { Backoff } from '../../src/shared/exponential-backoff';

function withClock(initialMs = 100, maxMs = 30_000): { backoff: Backoff; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { backoff: new Backoff(initialMs, maxMs, () => clock.now), clock };
}

describe('Backoff', () => {
  it('starts with no failures and no wait', () => {
    const { backoff } = withClock();
    expect(backoff.failures).toBe(0);
    expect(backoff.remainingMs()).toBe(0);
  });

  it('doubles per failure from initialMs, capped at maxMs', () => {
    const { backoff } = withClock(100, 30_000);
    const delays = Array.from({ length: 12 }, () => backoff.fail());
    expect(delays).toEqual([
      100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000,
    ]);
    expect(backoff.failures).toBe(12);
  });

  it('counts the wait down on its clock', () => {
    const { backoff, clock } = withClock();
    backoff.fail();
    expect(backoff.remainingMs()).toBe(100);
    clock.now += 60;
    expect(backoff.remainingMs()).toBe(40);
    clock.now += 40;
    expect(backoff.remainingMs()).toBe(0);
    clock.now += 1000;
    expect(backoff.remainingMs()).toBe(0);
  });

  it('a failure during a wait starts the longer wait from now', () => {
    const { backoff, clock } = withClock();
    backoff.fail();
    clock.now += 50;
    expect(backoff.fail()).toBe(200);
    expect(backoff.remainingMs()).toBe(200);
  });

  it('reset ends the wait and starts the doubling over', () => {
    const { backoff } = withClock();
    backoff.fail();
    backoff.fail();
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.remainingMs()).toBe(0);
    expect(backoff.fail()).toBe(100);
  });

  it('does not overflow after very many failures', () => {
    const { backoff } = withClock(100, 30_000);
    for (let i = 0; i < 2000; i++) backoff.fail();
    expect(backoff.fail()).toBe(30_000);
    expect(backoff.remainingMs()).toBe(30_000);
  });
});
