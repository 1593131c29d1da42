/**
 * The default bound of every wait in the tests: long enough for a loaded 2-core CI box
 * (a Node start-up there can take a second), short enough to report a hang.
 */
export const HANG_BOUND_MS = 15000;

/** Polls a condition until it holds or the bound passes (for state only /proc can tell). */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = HANG_BOUND_MS,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Resolves with the event's arguments, or rejects when the bound passes first. */
export function once<T = unknown>(
  emitter: NodeJS.EventEmitter,
  event: string,
  what: string,
  timeoutMs = HANG_BOUND_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const listener = (value: T): void => {
      clearTimeout(timer);
      resolve(value);
    };
    emitter.once(event, listener);
  });
}

/**
 * Conditions on state that changes as events arrive: `until` resolves once the
 * condition holds (checked at each `wake`), or rejects when the bound passes.
 */
export class Conditions {
  private readonly waiters = new Set<() => void>();

  until(
    condition: () => boolean,
    what: string,
    timeoutMs: number,
    detail = (): string => '',
  ): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail()}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
