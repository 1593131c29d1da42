import { seededRandom } from '../../scripts/lib/seeded-random';

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
  const next = seededRandom(seed);
  const int = (below: number): number => Math.floor(next() * below);
  return {
    seed,
    next,
    int,
    pick: (items) => items[int(items.length)],
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(256))),
  };
}
