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
