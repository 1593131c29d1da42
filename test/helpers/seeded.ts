/**
 * A seeded pseudo-random source for randomised tests: the seed comes from TEST_SEED
 * (to replay a failure) or the clock, and is printed so a failure can be replayed.
 */
export interface Seeded {
  seed: number;
  /** A float in [0, 1), like Math.random. */
  next(): number;
  int(below: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(length: number): Buffer;
}

export function seeded(
  name: string,
  seed = Number(process.env.TEST_SEED ?? Date.now() % 2 ** 31),
): Seeded {
  process.stdout.write(`${name}: seed ${seed} (replay with TEST_SEED=${seed})\n`);
  // mulberry32: small, fast, good enough to draw test inputs.
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  return {
    seed,
    next,
    int,
    pick: (items) => items[int(items.length)],
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(256))),
  };
}
