/**
 * The one shape of "this can fail" for code that returns rather than throws: check
 * `ok`, then read `value` or `error`. (A `recovered: false` history answer is not a
 * failure but a protocol fact, and keeps its own shape: see HistoryResult.)
 */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/**
 * The value of a result that cannot have failed (its input was checked before); a
 * failure here is a bug, thrown with `what` and the error.
 */
export function unwrap<T, E>(result: Result<T, E>, what: string): T {
  if (result.ok) return result.value;
  throw new Error(`${what}: ${String(result.error)}`);
}
