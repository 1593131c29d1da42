/**
 * A bad command line: main.ts prints its message, one line naming the flag, never the
 * whole usage text, and exits 2. With the number checks every flag module shares.
 */
export class UsageError extends Error {}

export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${name} must be a number greater than 0 (got ${value})`);
  }
  return value;
}

export function wholeNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got ${value})`);
  }
  return value;
}

export function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${name} must be a number of 0 or more (got ${value})`);
  }
  return value;
}
